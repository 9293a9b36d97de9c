"""Weak cases of the second bad-input pass: each ends in one typed error naming the thing
and the next step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudml_edu import (
    ConfigError,
    Dataset,
    DatasetError,
    NotFoundError,
    Trainer,
    Workspace,
)
from cloudml_edu.config import load_config
from cloudml_edu.report import compare


@pytest.mark.parametrize("layout", ["files", "parquet"])
def test_a_file_changed_between_scan_and_upload_is_caught_at_upload(
    tiny_dir: Path, workspace: Workspace, layout: str
) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    victim = tiny_dir / "circle" / "3.png"
    status = victim.stat()
    original = victim.read_bytes()
    data = bytearray(original)
    data[-20] ^= 0xFF  # same size ...
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(status.st_atime_ns, status.st_mtime_ns))  # ... and the same mtime
    with pytest.raises(DatasetError, match=r"circle/3.png.*(changed since|does not match)") as err:
        dataset.upload(workspace, layout=layout)  # type: ignore[arg-type]
    assert "read the folder again" in str(err.value).lower()
    with pytest.raises(NotFoundError):  # nothing half-stored to fail on reading back
        Dataset.load(workspace, "tiny")
    victim.write_bytes(original)
    assert len(Dataset.from_folder(tiny_dir).upload(workspace, layout=layout)) == 24  # type: ignore[arg-type]


@pytest.mark.parametrize("given", [None, 3, "runs", [object()]])
def test_compare_refuses_what_is_not_runs(given: object) -> None:
    with pytest.raises(ConfigError, match=r"compare\(\) takes .*TrainingRun.list\(ws\)"):
        compare(given)  # type: ignore[arg-type]


def test_a_mistyped_folder_is_called_a_folder_not_a_table_name(
    tiny_dir: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tiny_dir.parent)
    trainer = Trainer("designer", workspace=workspace, progress=False)
    for typo in ("tiyn", "tiyn/", "./data/tiny", "tiny.v2"):
        with pytest.raises(NotFoundError, match="neither an image folder") as caught:
            trainer.plan(typo)
        assert "not a valid table name" not in str(caught.value)
    with pytest.raises(NotFoundError, match=r"did you mean tiny\?"):
        trainer.plan("tiyn")


def test_a_databricks_host_pasted_from_the_browser_is_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_text(
        '[databricks]\nhost = " https://adb-123.4.azuredatabricks.net/?o=123#job/5/run/7 "\n'
        'token = "dapi0123456789abcdef0123456789abcdef"\n',
        encoding="utf-8",
    )
    assert load_config(path, environ={}).databricks.host == (  # type: ignore[union-attr]
        "https://adb-123.4.azuredatabricks.net"
    )


def test_a_bad_host_from_databricks_host_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_text('[databricks]\ntoken = "x"\n', encoding="utf-8")
    env = {"DATABRICKS_HOST": "adb-123.4.azuredatabricks.net"}
    with pytest.raises(ConfigError, match=r"\[databricks\] host \(from DATABRICKS_HOST\)") as err:
        load_config(path, environ=env)
    assert "DATABRICKS_HOST (or unset it)" in str(err.value)
    with pytest.raises(ConfigError) as plain:
        load_config(path, environ={"CLOUDML_DATABRICKS__HOST": "http://x"})
    assert "CLOUDML_DATABRICKS__HOST" in str(plain.value)
