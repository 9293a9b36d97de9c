"""The automl backend on Databricks, through the fake workspace: bodies sent, outcomes, failures."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cloudml_edu import Dataset, Trainer
from cloudml_edu.errors import AuthError, BackendError
from cloudml_edu.testing.databricks import FakeDatabricks


@pytest.fixture
def shapes(tiny_dir: Path) -> Dataset:
    return Dataset.from_folder(tiny_dir, name="shapes")


def test_fit_submits_automl_on_a_single_node_ml_cluster(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    ws = mock_databricks.workspace
    run = Trainer("automl", workspace=ws, timeout_minutes=5, primary_metric="f1_weighted").fit(
        shapes
    )
    assert run.target == "databricks" and run.status == "Completed"
    (body,) = mock_databricks.runs
    (task,) = body["tasks"]
    cluster = task["new_cluster"]
    assert cluster["spark_version"] == "15.4.x-cpu-ml-scala2.12"
    assert cluster["num_workers"] == 0 and cluster["data_security_mode"] == "SINGLE_USER"
    assert cluster["single_user_name"] == "tester@example.edu"
    assert cluster["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
    assert cluster["custom_tags"]["cloudml-owner"] == "tester"
    params = task["spark_python_task"]["parameters"]
    flags = dict(zip(params[::2], params[1::2], strict=True))
    assert flags["--primary-metric"] == "f1" and flags["--timeout-minutes"] == "5"
    assert flags["--source"].startswith("hive_metastore.cloudml_tester.shapes_features_")
    assert task["spark_python_task"]["python_file"] in mock_databricks.uploads
    uploaded = mock_databricks.uploads[task["spark_python_task"]["python_file"]]
    assert b"automl.classify" in uploaded and b'target_col="label"' in uploaded
    assert body["idempotency_token"] == run.id
    # the feature table: Parquet in the container, registered over its folder
    create = [s for s in mock_databricks.statements if s.startswith("CREATE TABLE")]
    assert len(create) == 1 and flags["--source"] in create[0] and "USING PARQUET" in create[0]
    # results: the best trial's test metrics, every trial, the registered model, the cost
    assert run.metrics is not None
    assert run.metrics.accuracy == pytest.approx(0.947)
    assert run.metrics.f1_weighted == pytest.approx(0.946) and run.metrics.f1_macro is None
    assert [t.family for t in run.trials] == [
        "LogisticRegression",
        "RandomForestClassifier",
        "LGBMClassifier",
    ]
    assert run.model == "models:/cloudml_tester_shapes/1"
    assert run.metrics.compute.node_hours == pytest.approx(0.2)  # 12 scripted minutes
    assert run.metrics.cost_usd == pytest.approx(0.2 * (0.293 + 0.75 * 0.30), abs=1e-3)
    output = mock_databricks.sent("GET", r"/api/2\.2/jobs/runs/get-output")
    assert [r.query["run_id"] for r in output] == ["1011"]  # the task run, not the parent


def test_the_feature_table_parquet_has_the_local_split(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    import io

    import pandas as pd

    ws = mock_databricks.workspace
    Trainer("automl", workspace=ws, timeout_minutes=5).fit(shapes)
    (key,) = [o.key for o in ws.store.list("tester/features/")]
    frame = pd.read_parquet(io.BytesIO(ws.store.get_bytes(key)))
    assert list(frame.columns[:3]) == ["label", "split", "f0000"]
    assert frame["split"].value_counts().to_dict() == {"train": 15, "test": 5, "validate": 4}
    assert len(shapes.split(test_size=0.2, seed=0)[1]) == 5


def test_second_fit_sends_no_features_table_or_task_again(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    ws = mock_databricks.workspace
    Trainer("automl", workspace=ws, timeout_minutes=5).fit(shapes)
    first = len(mock_databricks.requests)
    statements, uploads = len(mock_databricks.statements), len(mock_databricks.uploads)
    Trainer("automl", workspace=ws, timeout_minutes=5).fit(shapes)
    assert len(mock_databricks.statements) == statements
    assert len(mock_databricks.sent("POST", r"/api/2\.0/workspace/import")) == uploads
    second = len(mock_databricks.requests) - first
    assert second < first


def test_failed_run_raises_with_task_error_and_url(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    mock_databricks.script_run(result="FAILED", error="ValueError: label column has one class")
    with pytest.raises(BackendError) as caught:
        Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5).fit(shapes)
    message = str(caught.value)
    assert "FAILED" in message and "label column has one class" in message
    assert "#job/0/run/1010" in message


@pytest.mark.parametrize("result", ["TIMEDOUT", "CANCELED"])
def test_other_terminal_states_fail(
    mock_databricks: FakeDatabricks, shapes: Dataset, result: str
) -> None:
    mock_databricks.script_run(result=result)
    with pytest.raises(BackendError, match=result):
        Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5).fit(shapes)


def test_bad_token_is_an_auth_error(mock_databricks: FakeDatabricks, shapes: Dataset) -> None:
    mock_databricks.token = "dapi" + "f" * 32  # the server now expects another token
    with pytest.raises(AuthError, match="rejected the credentials"):
        Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5).fit(shapes)


def test_timeout_is_bounded_and_the_run_is_found_again_by_id(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    from cloudml_edu import TrainingRun
    from cloudml_edu.errors import TimeoutError

    ws = mock_databricks.workspace
    mock_databricks.script_run(states=("PENDING", "RUNNING"))
    poller = Trainer("automl", workspace=ws, timeout_minutes=5).begin_fit(shapes)
    with pytest.raises(TimeoutError, match="still not done"):
        poller.result(timeout=0.2)
    stored = TrainingRun.get(ws, poller.value.id)  # as another process would
    assert stored.remote is not None and stored.remote.name == "1010"
    assert stored.remote.status == "RUNNING" and stored.status == "Running"
    assert stored.remote.url.endswith("#job/0/run/1010")
    stored.cancel()
    assert mock_databricks.canceled == [1010]
    assert stored.refresh().status == "Canceled"
    assert TrainingRun.get(ws, stored.id).status == "Canceled"


def test_max_trials_and_short_budget_warn(
    mock_databricks: FakeDatabricks, shapes: Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    trainer = Trainer("automl", workspace=mock_databricks.workspace, max_trials=5)
    with caplog.at_level(logging.WARNING):
        trainer.plan(shapes)
    assert "max_trials=5 is ignored" in caplog.text
    assert "timeout_minutes=2 becomes 5" in caplog.text
    assert trainer._backend.target == "databricks"


def test_plan_sends_no_request_and_shows_cluster_sql_body_and_cost(
    mock_databricks: FakeDatabricks, shapes: Dataset, tmp_path: Path
) -> None:
    trainer = Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=10)
    plan = trainer.plan(shapes)
    assert mock_databricks.requests == []
    assert plan.target == "databricks" and plan.compute_sku == "Standard_DS3_v2"
    steps = {step.name: step for step in plan.steps}
    sql = steps["register"].detail["sql"]
    assert sql[0].startswith("CREATE SCHEMA IF NOT EXISTS hive_metastore.cloudml_tester")
    assert "USING PARQUET LOCATION 'abfss://" in sql[1]
    body = steps["submit"].detail["POST /api/2.2/jobs/runs/submit"]
    assert body["tasks"][0]["new_cluster"]["data_security_mode"] == "SINGLE_USER"
    # 10 min of search + 8 min start-up on one DS3_v2 node: VM + 0.75 DBU/h at the premium
    # rate, + one endpoint hour of a Small serving endpoint (4 DBU at $0.07)
    assert plan.estimated_minutes == 18.0
    training = 0.3 * (0.293 + 0.75 * 0.30)
    assert plan.estimated_cost_usd == pytest.approx(training + 4 * 0.07, abs=1e-3)
    assert plan.endpoint_hourly_usd == pytest.approx(0.28)
    assert "DBU" in plan.price_source
    saved = plan.write(tmp_path / "plans")
    assert [path.name for path in saved] == ["plan.json"]
    text = saved[0].read_text() + str(plan)
    assert '"POST /api/2.2/jobs/runs/submit"' in text
    assert mock_databricks.token not in text
    settings = mock_databricks.workspace.config.storage
    assert settings.connection_string is not None
    assert settings.connection_string.get_secret_value() not in text


@pytest.mark.slow
def test_a_databricks_run_is_compared_and_reported_like_a_local_one(
    mock_databricks: FakeDatabricks, shapes: Dataset, tmp_path: Path
) -> None:
    from cloudml_edu import TrainingRun
    from cloudml_edu.report import compare, write_report

    ws = mock_databricks.workspace
    Trainer("automl", workspace=ws, timeout_minutes=5).fit(shapes)
    (run,) = TrainingRun.list(ws)
    assert run.target == "databricks"
    comparison = compare([run], prices=ws.config.prices)
    assert comparison.rows[0].accuracy == pytest.approx(0.947)
    report = write_report([run], tmp_path / "report", comparison=comparison)
    assert (tmp_path / "report" / "report.html").is_file()
    assert any("trial" in p.name for p in (tmp_path / "report").glob("*.png")), report
