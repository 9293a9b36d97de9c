"""Attaching a job built by hand in the Designer canvas: recorded, read, listed, compared."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cloudml_edu import Dataset, Trainer, TrainingRun
from cloudml_edu.errors import ConfigError, NotFoundError
from cloudml_edu.report.comparison import compare

#: What a classic Evaluate Model logs for a three-class model.
EVALUATE_MODEL = {
    "Overall_Accuracy": 0.8,
    "Average_Accuracy": 0.87,
    "Macro_Precision": 0.81,
    "Macro_Recall": 0.79,
    "Micro_Precision": 0.8,
    "Micro_Recall": 0.8,
}


def test_a_canvas_pipeline_is_recorded_with_its_evaluate_model_metrics(mock_azure_ml):
    ws = mock_azure_ml.workspace
    mock_azure_ml.add_job(
        "teal_lemon_x7",
        metrics=EVALUATE_MODEL,
        vm_size="Standard_DS12_v2",
        inputs={"images": "azureml:flowers:3"},
    )
    run = TrainingRun.from_job(ws, "teal_lemon_x7")

    assert (run.backend, run.target, run.status, run.dataset) == (
        "designer",
        "azureml",
        "Completed",
        "flowers",
    )
    assert run.metrics is not None
    assert run.metrics.accuracy == 0.8
    assert (run.metrics.precision_macro, run.metrics.recall_macro) == (0.81, 0.79)
    assert run.metrics.precision_weighted == 0.8
    assert run.remote is not None and run.remote.attached
    assert run.remote.name == "teal_lemon_x7" and run.remote.compute == "cpu-cluster"
    # cost from the job's real times (3 min in the fake) on its own cluster's size
    assert run.metrics.compute.sku == "Standard_DS12_v2"
    assert run.metrics.compute.node_hours == pytest.approx(0.05, abs=1e-3)
    assert run.metrics.cost_usd == pytest.approx(0.05 * 0.371, abs=1e-3)
    assert run.seconds == pytest.approx(240, abs=5)  # from creation (queued 1 min) to end
    assert [s.name for s in run.steps] == [
        "Import Data",
        "Split Data",
        "Train Model",
        "Score Model",
        "Evaluate Model",
    ]
    assert run.model is None
    # metrics were read from the Evaluate Model step's MLflow run
    (mlflow_get,) = mock_azure_ml.sent("GET", "/mlflow/runs/get")
    assert mlflow_get.query["run_id"] == "teal_lemon_x7_evaluate_model"
    assert mock_azure_ml.sent("PUT") == []  # attaching creates nothing in Azure ML

    stored = TrainingRun.get(ws, run.id)
    assert stored.remote is not None and stored.remote.name == "teal_lemon_x7"
    assert stored.metrics == run.metrics


def test_attached_runs_are_listed_and_compared_with_the_librarys(mock_azure_ml, images):
    ws = mock_azure_ml.workspace
    ours = Trainer("designer", workspace=ws).fit(Dataset.from_folder(images, progress=False))
    mock_azure_ml.add_job("by_hand_1", metrics=EVALUATE_MODEL)
    attached = TrainingRun.from_job(ws, "by_hand_1")

    assert {r.id for r in TrainingRun.list(ws)} == {ours.id, attached.id}
    table = compare(TrainingRun.list(ws), artifacts=False)
    assert sorted(row.accuracy for row in table.rows) == sorted([0.8, ours.metrics.accuracy])

    again = TrainingRun.from_job(ws, "by_hand_1")  # no second record
    assert again.id == attached.id and len(TrainingRun.list(ws)) == 2


def test_a_hand_built_command_job_and_a_running_one(mock_azure_ml):
    ws = mock_azure_ml.workspace
    mock_azure_ml.add_job(
        "cmd_1",
        command="python train.py",
        statuses=["Running", "Completed"],
        metrics={"accuracy": 0.9},  # what its own script logged
    )
    run = TrainingRun.from_job(ws, "cmd_1")
    assert (run.backend, run.status, run.metrics) == ("sdk", "Running", None)
    assert run.wait(timeout=30).status == "Completed"
    assert run.metrics is not None and run.metrics.accuracy == 0.9


def test_unknown_job_and_target_are_typed_errors(mock_azure_ml):
    with pytest.raises(NotFoundError, match="Overview tab"):
        TrainingRun.from_job(mock_azure_ml.workspace, "no_such_job")
    with pytest.raises(ConfigError, match="attachable"):
        TrainingRun.from_job(mock_azure_ml.workspace, "x", target="databricks")
    assert TrainingRun.list(mock_azure_ml.workspace) == []  # nothing recorded


def test_cli_runs_attach_then_runs(mock_azure_ml, monkeypatch):
    import cloudml_edu.cli.train as train_cli
    from cloudml_edu.cli import app

    monkeypatch.setattr(train_cli, "workspace_from_option", lambda config: mock_azure_ml.workspace)
    monkeypatch.setenv("COLUMNS", "200")
    mock_azure_ml.add_job("teal_lemon_x7", metrics=EVALUATE_MODEL)
    done = CliRunner().invoke(app, ["runs", "attach", "teal_lemon_x7"])
    assert done.exit_code == 0, done.output
    assert "designer (attached)" in done.output and "0.8000" in done.output
    listed = CliRunner().invoke(app, ["runs", "--json"])
    assert listed.exit_code == 0, listed.output
    (record,) = json.loads(listed.output)
    assert record["remote"]["name"] == "teal_lemon_x7" and record["metrics"]["accuracy"] == 0.8
