"""The AutoML task file, run here with stand-ins for Spark and databricks.automl.

What runs on the cluster is checked for real: the best trial's column-based
model is wrapped with the featurizer, logged and registered as the image
pyfunc model, and the result line names it.
"""

from __future__ import annotations

import base64
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from cloudml_edu import Dataset
from cloudml_edu.training.features import FeatureSpec
from cloudml_edu.training.tabular import feature_frame


class _Frame:
    """The little of a Spark DataFrame the task uses."""

    def __init__(self, pandas: Any) -> None:
        self.pandas = pandas
        self.columns = list(pandas.columns)


def _fake_automl(calls: list[dict[str, Any]]) -> types.ModuleType:
    import mlflow
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    def classify(frame: _Frame, **kwargs: Any) -> Any:
        calls.append(kwargs)
        data = frame.pandas
        train = data[data["split"] == "train"]
        columns = [c for c in data.columns if c.startswith("f")]
        model = Pipeline(
            [
                ("select", ColumnTransformer([("features", "passthrough", columns)])),
                ("classifier", LogisticRegression(max_iter=500)),
            ]
        ).fit(train[columns], train["label"])
        experiment = mlflow.set_experiment("automl-fake")
        with mlflow.start_run() as run:
            mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        trial = types.SimpleNamespace(
            mlflow_run_id=run.info.run_id,
            model_path=f"runs:/{run.info.run_id}/model",
            model_description="LogisticRegression(max_iter=500)",
            evaluation_metric_score=0.9,
            duration="0.5 minutes",
            params={"C": 1.0},
        )
        return types.SimpleNamespace(best_trial=trial, trials=[trial], experiment=experiment)

    module = types.ModuleType("databricks.automl")
    module.classify = classify  # type: ignore[attr-defined]
    return module


@pytest.mark.slow
def test_task_registers_an_image_model_around_the_best_trial(
    tmp_path: Path,
    tiny_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import mlflow

    from cloudml_edu.backends.databricks import automl_task

    spec = FeatureSpec(size=16)
    dataset = Dataset.from_folder(tiny_dir, name="shapes")
    table = feature_frame(dataset, spec, test_size=0.2, seed=0)
    spark = types.SimpleNamespace(table=lambda name: _Frame(table))
    session = types.SimpleNamespace(
        builder=types.SimpleNamespace(getOrCreate=lambda: spark), getActiveSession=lambda: None
    )
    pyspark_sql = types.ModuleType("pyspark.sql")
    pyspark_sql.SparkSession = session  # type: ignore[attr-defined]
    calls: list[dict[str, Any]] = []
    monkeypatch.setitem(sys.modules, "pyspark", types.ModuleType("pyspark"))
    monkeypatch.setitem(sys.modules, "pyspark.sql", pyspark_sql)
    monkeypatch.setitem(sys.modules, "databricks.automl", _fake_automl(calls))
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(store)
    monkeypatch.chdir(tmp_path)

    result = automl_task.main(
        [
            "--source", "hive_metastore.cloudml_tester.shapes_features_x",
            "--primary-metric", "f1",
            "--timeout-minutes", "5",
            "--experiment-dir", "/Shared/cloudml-edu/tester/experiments",
            "--model-name", "cloudml_tester_shapes",
            "--feature-spec", json.dumps(spec.to_dict()),
            "--registry-uri", store,
        ]
    )  # fmt: skip

    assert calls[0]["target_col"] == "label" and calls[0]["split_col"] == "split"
    assert calls[0]["primary_metric"] == "f1" and calls[0]["timeout_minutes"] == 5
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed == "CLOUDML_RESULT " + json.dumps(result)
    assert result["model_name"] == "cloudml_tester_shapes" and result["model_version"] == "1"
    assert result["trials"][0]["duration"] == pytest.approx(30.0)
    model = mlflow.pyfunc.load_model("models:/cloudml_tester_shapes/1")
    images = [base64.b64encode(p.read_bytes()).decode() for p in sorted(tiny_dir.glob("*/0.png"))]
    import pandas as pd

    answer = model.predict(pd.DataFrame({"image": images}))
    assert set(answer["label"]) <= {"circle", "square", "cross"}
    assert {"p:circle", "p:square", "p:cross"} <= set(answer.columns)
