"""The automl backend on Databricks, through the fake workspace: what is sent, and what the task,
run for real in the runtime's twin, gives back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cloudml_edu import Dataset, Trainer
from cloudml_edu.errors import AuthError, BackendError
from cloudml_edu.testing.databricks import FakeDatabricks

SUBMIT = "/api/2.2/jobs/runs/submit"


def _flags(task: dict[str, object]) -> dict[str, str]:
    params = task["spark_python_task"]["parameters"]  # type: ignore[index]
    return dict(zip(params[::2], params[1::2], strict=True))


def _noise(root: Path, *, n: int = 80, seed: int = 0) -> Dataset:
    """Random images with random labels: nothing to learn."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(n):
        folder = root / ("ab"[int(rng.integers(2))])
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (16, 16), dtype=np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{i}.png")
    return Dataset.from_folder(root, name="noise")


@pytest.mark.slow
def test_fit_runs_automl_on_the_runtime_as_it_ships(
    mock_databricks: FakeDatabricks, shapes: Dataset, tmp_path: Path
) -> None:
    import pandas as pd

    from cloudml_edu.report import compare, write_report

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
    # nothing installed over the runtime: no library at all, the code comes as workspace files
    assert "libraries" not in task and "environments" not in body
    flags = _flags(task)
    assert flags["--primary-metric"] == "f1" and flags["--timeout-minutes"] == "5"
    assert flags["--source"].startswith("/Volumes/main/cloudml_tester/cloudml/features/shapes/")
    assert flags["--registry-uri"] == "databricks-uc"
    assert flags["--model-name"] == "main.cloudml_tester.shapes"
    code = flags["--code-dir"].removeprefix("/Workspace")
    assert task["spark_python_task"]["python_file"] == code + "/automl_task.py"
    uploaded = sorted(p.removeprefix(code + "/") for p in mock_databricks.uploads)
    assert "automl_task.py" in uploaded and "cloudml_edu/training/frame.py" in uploaded
    assert all(p == "automl_task.py" or p.startswith("cloudml_edu/") for p in uploaded)
    assert body["idempotency_token"] == run.id
    # results: the real trials of several families, test metrics of the best, the UC model
    assert {t.family for t in run.trials} >= {
        "LogisticRegression",
        "RandomForestClassifier",
        "LGBMClassifier",
    }
    assert run.metrics is not None and run.metrics.accuracy is not None
    assert run.metrics.accuracy >= 0.8 and run.metrics.f1_macro is not None
    assert sum(map(sum, run.metrics.confusion_matrix)) == 5  # the model's own test answers
    assert sorted(run.metrics.labels) == ["circle", "cross", "square"]
    assert run.model == "models:/main.cloudml_tester.shapes/1"
    assert run.metrics.compute.node_hours > 0
    output = mock_databricks.sent("GET", "/api/2.2/jobs/runs/get-output")
    assert [r.query["run_id"] for r in output] == ["1011"]  # the task run, not the parent
    # the feature table in the volume: the local split, no warehouse needed
    (put,) = mock_databricks.sent("PUT", "/api/2.0/fs/files/Volumes/main/cloudml_tester/")
    assert put.path.endswith("/part-00000.parquet")
    (parquet,) = mock_databricks.volumes_root.glob("main/cloudml_tester/cloudml/features/*/*/*")
    frame = pd.read_parquet(parquet)
    assert list(frame.columns[:3]) == ["label", "split", "f0000"]
    assert frame["split"].value_counts().to_dict() == {"train": 15, "test": 5, "validate": 4}
    assert mock_databricks.statements == []
    # compared and reported like a local run
    comparison = compare([run], prices=ws.config.prices)
    assert comparison.rows[0].accuracy == pytest.approx(run.metrics.accuracy)
    report = write_report([run], tmp_path / "report", comparison=comparison)
    assert any("trial" in p.name for p in (tmp_path / "report").glob("*.png"))
    # the features stay in Databricks: the note says where, and not "retrain it"
    assert report.notes and all("retrain" not in note for note in report.notes)
    assert any(
        "what the service kept of it is in the Databricks workspace" in n for n in report.notes
    )
    # a second fit of the same data sends no features or code again
    uploads = len(mock_databricks.sent("POST", "/api/2.0/workspace/import"))
    Trainer("automl", workspace=ws, timeout_minutes=5).begin_fit(shapes)
    assert len(mock_databricks.sent("POST", "/api/2.0/workspace/import")) == uploads
    assert len(mock_databricks.sent("PUT", "/api/2.0/fs/files/")) == 1
    assert len(mock_databricks.sent("POST", SUBMIT)) == 2


@pytest.mark.slow
def test_random_labels_score_near_chance(mock_databricks: FakeDatabricks, tmp_path: Path) -> None:
    noise = _noise(tmp_path / "noise")
    run = Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5).fit(noise)
    assert run.metrics is not None and run.metrics.accuracy is not None
    assert run.metrics.accuracy <= 0.75  # two classes: chance is 0.5


@pytest.mark.slow
def test_a_task_that_fails_on_the_cluster_says_why(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    trainer = Trainer(
        "automl",
        workspace=mock_databricks.workspace,
        timeout_minutes=5,
        backend_options={"new_cluster": {"data_security_mode": "USER_ISOLATION"}},
    )
    with pytest.raises(BackendError, match="dedicated \\(single user\\) access mode") as caught:
        trainer.fit(shapes)
    assert "#job/0/run/1010" in str(caught.value)


def test_platform_failure_raises_with_the_error_and_url(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    mock_databricks.script_run(result="FAILED", error="Cluster terminated: spot instance lost")
    with pytest.raises(BackendError) as caught:
        Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5).fit(shapes)
    message = str(caught.value)
    assert "FAILED" in message and "spot instance lost" in message
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


def test_plan_sends_no_request_and_shows_cluster_code_body_and_cost(
    mock_databricks: FakeDatabricks, shapes: Dataset, tmp_path: Path
) -> None:
    trainer = Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=10)
    plan = trainer.plan(shapes)
    assert mock_databricks.requests == []
    assert plan.target == "databricks" and plan.compute_sku == "Standard_DS3_v2"
    steps = {step.name: step for step in plan.steps}
    assert list(steps) == ["featurize", "store", "upload", "submit"]
    assert steps["store"].detail["path"].startswith("/Volumes/main/cloudml_tester/cloudml/")
    assert "automl_task.py" in steps["upload"].detail["files"]
    body = steps["submit"].detail["POST /api/2.2/jobs/runs/submit"]
    assert body["tasks"][0]["new_cluster"]["data_security_mode"] == "SINGLE_USER"
    assert "libraries" not in body["tasks"][0]
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


def test_a_large_dataset_is_featurized_on_the_cluster(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    ws = mock_databricks.configure(spark_featurize_above=10)
    plan = Trainer("automl", workspace=ws, timeout_minutes=5).plan(shapes)
    steps = {step.name: step for step in plan.steps}
    assert "on the cluster" in steps["featurize"].action
    task = steps["submit"].detail["POST /api/2.2/jobs/runs/submit"]["tasks"][0]
    flags = _flags(task)
    assert flags["--input"] == "images" and "/cloudml/images/shapes/" in flags["--source"]
