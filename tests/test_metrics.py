"""Metrics: one schema, native-name mappers, MLflow round trip, published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudml_edu.errors import BackendError
from cloudml_edu.metrics import ClassReport, Metrics, metrics_json_schema


def _metrics() -> Metrics:
    return Metrics(
        accuracy=0.9,
        precision_macro=0.8,
        recall_macro=0.7,
        f1_macro=0.75,
        precision_weighted=0.81,
        recall_weighted=0.9,
        f1_weighted=0.85,
        log_loss=0.3,
        labels=["a", "b"],
        confusion_matrix=[[9, 1], [1, 9]],
        per_class={
            "a": ClassReport(precision=0.9, recall=0.9, f1=0.9, support=10),
            "b": ClassReport(precision=0.9, recall=0.9, f1=0.9, support=10),
        },
        n_train=80,
        n_test=20,
        train_seconds=1.5,
    )


def test_scalars_flatten_for_mlflow_and_come_back() -> None:
    m = _metrics()
    flat = m.to_mlflow()
    assert flat["accuracy"] == 0.9 and flat["f1.a"] == 0.9 and flat["n_test"] == 20.0
    back = Metrics.from_mlflow(flat)
    assert back.accuracy == m.accuracy and back.f1_weighted == m.f1_weighted and back.n_test == 20
    assert Metrics.from_mlflow(flat, artifact=m.artifact()) == m


def test_designer_evaluate_model_names_are_mapped() -> None:
    multi = Metrics.from_native(
        {
            "Overall_Accuracy": 0.93,
            "Macro_Precision": 0.9,
            "Macro_Recall": 0.91,
            "Micro_Precision": 0.93,
            "Micro_Recall": 0.93,
        }
    )
    assert (multi.accuracy, multi.precision_macro, multi.recall_macro) == (0.93, 0.9, 0.91)
    binary = Metrics.from_native(
        {"Accuracy": 0.8, "Precision": 0.7, "Recall": 0.6, "F1 Score": 0.65, "AUC": 0.9}
    )
    assert binary.f1_macro == 0.65 and binary.precision_weighted == 0.7


def test_databricks_automl_names_are_mapped_and_missing_stays_none() -> None:
    m = Metrics.from_native(
        {
            "test_accuracy_score": 0.97,
            "test_f1_score": 0.96,
            "test_log_loss": 0.1,
            "val_accuracy_score": 0.5,
        }
    )
    assert m.accuracy == 0.97 and m.f1_weighted == 0.96 and m.log_loss == 0.1
    assert m.f1_macro is None


def test_unknown_names_without_accuracy_are_rejected() -> None:
    with pytest.raises(BackendError, match="NATIVE_NAMES"):
        Metrics.from_native({"mystery": 1.0})


def test_published_schema_matches_the_model() -> None:
    schema = json.loads(metrics_json_schema())
    assert {"accuracy", "f1_macro", "confusion_matrix", "compute", "cost_usd"} <= set(
        schema["properties"]
    )
    published = Path(__file__).parents[1] / "docs" / "metrics-schema.json"
    assert json.loads(published.read_text()) == schema, (
        "run `python -m cloudml_edu.metrics > docs/metrics-schema.json`"
    )
