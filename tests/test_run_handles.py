"""A run found by id is followed exactly as the poller ``begin_fit`` returned follows it.

For each target: a run that fails is started, then waited on twice, once found
by id (as another process would) and once through the original poller.  Both
waits poll with the same intervals and end with the same error, since both are
built from the backend's own way of following its runs (the backend template).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudml_edu import Dataset, Trainer, TrainingRun, _polling
from cloudml_edu.errors import BackendError
from cloudml_edu.testing.azure_ml import FakeAzureML
from cloudml_edu.testing.databricks import FakeDatabricks


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[float, float]]]:
    """The (interval, max_interval) of every wait, in order."""
    seen: list[tuple[float, float]] = []
    real = _polling.wait_until

    def recorded(check: Callable[[float], bool], **kwargs: Any) -> None:
        seen.append((kwargs["interval"], kwargs["max_interval"]))
        real(check, **kwargs)

    monkeypatch.setattr(_polling, "wait_until", recorded)
    yield seen


def _both_waits(trainer: Trainer, dataset: Dataset, waits: list[tuple[float, float]]) -> str:
    """Start a failing run; wait on it by id, then through its poller; the shared error."""
    poller = trainer.begin_fit(dataset)
    found = TrainingRun.get(trainer.workspace, poller.value.id)  # as another process would
    first = len(waits)
    with pytest.raises(BackendError) as by_id:
        found.wait(timeout=120)
    second = len(waits)
    with pytest.raises(BackendError) as by_poller:
        poller.result(timeout=120)
    assert type(by_id.value) is type(by_poller.value)
    assert str(by_id.value) == str(by_poller.value)
    assert found.status == poller.value.status == "Failed"
    assert TrainingRun.get(trainer.workspace, found.id).error == found.error
    assert waits[first] == waits[second]  # each wait's own loop (others may nest inside it)
    return str(by_id.value)


def test_a_local_sdk_job(
    workspace: Any,
    tiny_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    waits: list[tuple[float, float]],
) -> None:
    from cloudml_edu.backends.local.sdk import SdkBackend

    failing = [sys.executable, "-c", "import sys; print('out of memory'); sys.exit(3)"]
    monkeypatch.setattr(SdkBackend, "command", lambda self, data, manifest: failing)
    trainer = Trainer("sdk", workspace=workspace, progress=False)
    message = _both_waits(trainer, Dataset.from_folder(tiny_dir), waits)
    # the job is not this handle's child, so it reads how the job ended from its MLflow run
    assert "out of memory" in message and "see `cloudml-edu runs`" in message
    assert waits[0] == (SdkBackend.poll_interval, SdkBackend.poll_max_interval)


def test_an_azure_ml_job(
    mock_azure_ml: FakeAzureML, tiny_dir: Path, waits: list[tuple[float, float]]
) -> None:
    from cloudml_edu.backends.azureml.backend import AzureMLBackend

    mock_azure_ml.script_job(
        statuses=["Queued", "Running", "Failed"], error="MemoryError: out of memory"
    )
    trainer = Trainer("sdk", workspace=mock_azure_ml.workspace)
    message = _both_waits(trainer, Dataset.from_folder(tiny_dir, progress=False), waits)
    assert "out of memory" in message and "https://ml.azure.com/runs/" in message
    assert waits[0] == (AzureMLBackend.poll_interval, AzureMLBackend.poll_max_interval)


def test_a_databricks_automl_run(
    mock_databricks: FakeDatabricks, tiny_dir: Path, waits: list[tuple[float, float]]
) -> None:
    mock_databricks.script_run(
        states=("PENDING", "RUNNING", "TERMINATED"),
        result="FAILED",
        error="ValueError: label column has one class",
    )
    trainer = Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5)
    message = _both_waits(trainer, Dataset.from_folder(tiny_dir, name="shapes"), waits)
    assert "FAILED" in message and "label column has one class" in message
