"""How a student tests a Databricks AutoML script offline, with the fake Databricks workspace.

The `mock_databricks` fixture comes with cloudml-edu's pytest plugin: the real
databricks-sdk client runs against a fake workspace, and the AutoML task runs for
real in a twin of the Databricks runtime (built once per machine: about two minutes).
Run: pytest examples/test_my_databricks.py
"""

from __future__ import annotations

from pathlib import Path

from cloudml_edu import Dataset, Trainer
from cloudml_edu.testing.databricks import FakeDatabricks


def test_my_automl(tmp_path: Path, mock_databricks: FakeDatabricks) -> None:
    ws = mock_databricks.workspace
    ds = Dataset.sample("digits", tmp_path / "images", size=8)
    run = Trainer("automl", workspace=ws, timeout_minutes=5).fit(ds)
    assert run.target == "databricks" and run.trials
    assert run.metrics is not None and run.metrics.accuracy is not None
    assert run.metrics.accuracy > 0.5  # ten digit classes: chance is 0.1
    assert run.model == "models:/main.cloudml_tester.digits/1"  # Unity Catalog


def test_a_failed_run_says_why(tmp_path: Path, mock_databricks: FakeDatabricks) -> None:
    import pytest

    from cloudml_edu.errors import BackendError

    mock_databricks.script_run(result="FAILED", error="Cluster terminated: driver unreachable")
    ds = Dataset.sample("digits", tmp_path / "images", size=8)
    with pytest.raises(BackendError, match="driver unreachable"):
        Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5).fit(ds)
