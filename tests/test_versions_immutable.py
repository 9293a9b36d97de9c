"""A version a run used stays as it was: deleting it needs force, twice is NotFoundError."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudml_edu import ConflictError, Dataset, NotFoundError, Trainer, Workspace
from cloudml_edu.cli import app
from cloudml_edu.cli._common import describe_error
from cloudml_edu.datasets import delete_version


def test_deleting_a_version_a_run_used_needs_force(
    tiny_dir: Path, workspace: Workspace, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    Dataset.from_folder(tiny_dir).register(workspace, name="tiny")
    Dataset.from_folder(tiny_dir).register(workspace, name="spare")
    run = Trainer("designer", workspace=workspace, progress=False, model="knn", image_size=8).fit(
        "tiny"
    )
    with pytest.raises(ConflictError, match=rf"used by 1 run\(s\) \({run.id[:8]}\).*force=True"):
        delete_version(workspace, "tiny", version="1")
    assert Dataset.load(workspace, "tiny").manifest.fingerprint()  # nothing was deleted

    monkeypatch.chdir(workspace.root.parent)
    env = {"CLOUDML_ROOT": str(workspace.root)}
    refused = CliRunner().invoke(app, ["dataset", "delete", "tiny", "--yes"], env=env)
    assert refused.exit_code == 1 and refused.exception is not None
    assert "Pass --force" in describe_error(refused.exception)
    assert Dataset.load(workspace, "tiny")  # still registered: the refusal came first

    with caplog.at_level(logging.WARNING):
        assert delete_version(workspace, "tiny", version="1", force=True) == 24
    assert run.id[:8] in caplog.text and "anyway" in caplog.text
    with pytest.raises(NotFoundError, match="already deleted"):
        delete_version(workspace, "tiny", version="1")

    assert delete_version(workspace, "spare", version="1") == 24  # no run used it: no force
    twice = CliRunner().invoke(app, ["dataset", "delete", "spare", "--yes"], env=env)
    assert isinstance(twice.exception, NotFoundError)
