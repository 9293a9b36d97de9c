"""One wrong-typed argument per public function: a ConfigError naming it, never a TypeError.

Every call below would otherwise fail deep inside (``'<' not supported``, ``'int' object
has no attribute 'strip'``) or, worse, do something else.  The arguments are wrong on
purpose, so mypy's argument checks are off in this file.
"""

# mypy: disable-error-code="arg-type"

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cloudml_edu import ConfigError, Dataset, Endpoint, Trainer, TrainingRun, Workspace
from cloudml_edu.backends.base import EndpointRecord


@pytest.fixture
def dataset(tiny_dir: Path) -> Dataset:
    return Dataset.from_folder(tiny_dir)


def _endpoint(ws: Workspace, url: str = "http://127.0.0.1:1") -> Endpoint:
    """A local endpoint record pointing at ``url`` (nothing is started)."""
    record = EndpointRecord(
        name="digits-svc",
        model_uri="runs:/x/model",
        url=url,
        created=datetime.now(UTC),
        details={"pid": 1, "port": 1, "log_path": "x.log"},
    )
    return Endpoint(record, workspace=ws)


def _run() -> TrainingRun:
    return TrainingRun.model_construct(id="a" * 32, backend="sdk", status="Running")


Call = Callable[[Workspace, Dataset], Any]

CASES: list[tuple[str, Call, str]] = [
    # Dataset
    ("Dataset.from_folder", lambda ws, ds: Dataset.from_folder(42), "path="),
    (
        "Dataset.from_folder",
        lambda ws, ds: Dataset.from_folder(".", skip_invalid="yes"),
        "skip_invalid=",
    ),
    ("Dataset.sample", lambda ws, ds: Dataset.sample("digits", "out", size="32"), "size="),
    ("Dataset.split", lambda ws, ds: ds.split(test_size="x"), "test_size="),
    ("Dataset.split", lambda ws, ds: ds.split(seed=1.5), "seed="),
    ("Dataset.upload", lambda ws, ds: ds.upload(ws, version=1), "version"),
    ("Dataset.upload", lambda ws, ds: ds.upload("ws-folder"), "workspace="),
    ("Dataset.download", lambda ws, ds: ds.download(None), "dest="),
    ("Dataset.register", lambda ws, ds: ds.register(ws, name=7), "name"),
    ("Dataset.load", lambda ws, ds: Dataset.load(ws, 7), "name="),
    # Trainer
    ("Trainer", lambda ws, ds: Trainer(3, workspace=ws), "backend="),
    ("Trainer", lambda ws, ds: Trainer("sdk", workspace=".cloudml"), "workspace="),
    ("Trainer", lambda ws, ds: Trainer("sdk", workspace=ws, test_size="x"), "test_size"),
    ("Trainer.plan", lambda ws, ds: Trainer("designer", workspace=ws).plan(3), "dataset takes"),
    (
        "Trainer.begin_fit",
        lambda ws, ds: Trainer("sdk", workspace=ws).begin_fit(["a"]),
        "dataset takes",
    ),
    (
        "Trainer.fit",
        lambda ws, ds: Trainer("designer", workspace=ws).fit(ds, timeout="1"),
        "timeout=",
    ),
    # TrainingRun
    ("TrainingRun.get", lambda ws, ds: TrainingRun.get(ws, 1234567890), "run_id="),
    ("TrainingRun.list", lambda ws, ds: TrainingRun.list("runs.db"), "workspace="),
    ("TrainingRun.list", lambda ws, ds: TrainingRun.list(ws, owner=5), "owner="),
    ("TrainingRun.wait", lambda ws, ds: _run().wait(timeout="soon"), "timeout="),
    ("TrainingRun.refresh", lambda ws, ds: _run().refresh(workspace="ws"), "workspace="),
    ("TrainingRun.cancel", lambda ws, ds: _run().cancel(workspace=3), "workspace="),
    # Endpoint
    (
        "Endpoint.deploy",
        lambda ws, ds: Endpoint.deploy("a" * 32, workspace=ws, name=123),
        "endpoint name 123",
    ),
    ("Endpoint.get", lambda ws, ds: Endpoint.get(ws, 5), "endpoint name 5"),
    ("Endpoint.list", lambda ws, ds: Endpoint.list("endpoints"), "workspace="),
    (
        "Endpoint.predict_batch",
        lambda ws, ds: _endpoint(ws).predict_batch([], batch_size="4"),
        "batch_size",
    ),
    # Workspace
    ("Workspace.local", lambda ws, ds: Workspace.local(123), "root="),
    ("Workspace.local", lambda ws, ds: Workspace.local(owner=5), "owner="),
    ("Workspace.from_config", lambda ws, ds: Workspace.from_config(5), "path="),
]


@pytest.mark.parametrize(("function", "call", "names"), CASES, ids=[c[0] for c in CASES])
def test_a_wrong_type_is_a_config_error_naming_the_argument(
    function: str, call: Call, names: str, workspace: Workspace, dataset: Dataset, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        call(workspace, dataset)
    assert names in str(caught.value), f"{function}: {caught.value}"
    assert not (tmp_path / "ws" / "blobs").exists() or not any(
        (tmp_path / "ws" / "blobs").iterdir()
    )


def test_fit_takes_a_folder_or_a_registered_name_like_the_cli(
    workspace: Workspace, dataset: Dataset, tiny_dir: Path
) -> None:
    trainer = Trainer("designer", workspace=workspace)
    assert trainer.plan(str(tiny_dir)).dataset == dataset.name
    assert trainer.plan(tiny_dir).dataset == dataset.name
    dataset.register(workspace, name="pets")
    assert trainer.plan("pets").dataset == "pets"
    with pytest.raises(ConfigError, match=r"dataset folder .*missing does not exist"):
        trainer.plan(tiny_dir / "missing")
