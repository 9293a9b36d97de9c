"""NaN and infinite metrics, from any service, are recorded as missing with a warning; a
run without a usable accuracy ends Failed, never stays Running."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from cloudml_edu import BackendError, Dataset, Trainer, TrainingRun
from cloudml_edu.metrics import Metrics

NAN, INF = math.nan, math.inf


def test_non_numbers_are_missing_and_an_unusable_accuracy_is_a_backend_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        m = Metrics.from_native(
            {"accuracy": 0.9, "f1_score_macro": NAN, "log_loss": INF, "node_hours": NAN}
        )
    assert (m.accuracy, m.f1_macro, m.log_loss) == (0.9, None, None)
    assert "f1_score_macro = nan" in caplog.text and "log_loss = inf" in caplog.text
    for bad in (NAN, INF, -INF):
        with pytest.raises(BackendError, match="accuracy"):
            Metrics.from_native({"accuracy": bad})
    report = {"precision": NAN, "recall": 1.0, "f1": 0.5, "support": 3}
    kept = Metrics.model_validate(
        {"accuracy": 1.0, "per_class": {"a": report, "b": {**report, "precision": 1.0}}}
    )
    assert list(kept.per_class) == ["b"]
    assert Metrics.model_validate_json('{"accuracy": 0.5, "f1_macro": NaN}').f1_macro is None


@pytest.fixture
def images(tiny_dir: Path) -> Dataset:
    return Dataset.from_folder(tiny_dir, name="shapes")


@pytest.mark.parametrize(
    ("metrics", "status"),
    [
        ({"accuracy": 0.8, "f1_score_macro": NAN, "log_loss": INF}, "Completed"),
        ({"accuracy": NAN, "f1_score_macro": 0.5}, "Failed"),
    ],
)
def test_azure_ml_nan_metrics(
    mock_azure_ml, images: Dataset, metrics: dict[str, float], status: str
) -> None:
    mock_azure_ml.script_job(metrics=metrics)
    trainer = Trainer("sdk", workspace=mock_azure_ml.workspace, image_size=8)
    if status == "Failed":
        with pytest.raises(BackendError, match="accuracy"):
            trainer.fit(images)
    else:
        assert trainer.fit(images).metrics.f1_macro is None  # type: ignore[union-attr]
    (stored,) = TrainingRun.list(mock_azure_ml.workspace)
    assert stored.status == status


def _logged(root: Path, run_id: str, metrics: dict[str, float]) -> None:
    """A trial's metrics in the fake's MLflow file store, as the twin's MLflow writes them."""
    folder = root / "mlruns" / "1" / run_id / "metrics"
    folder.mkdir(parents=True)
    for key, value in metrics.items():
        (folder / key).write_text(f"0 {value} 0\n")


def test_databricks_nan_metrics(mock_databricks, caplog: pytest.LogCaptureFixture) -> None:
    """The best trial's metrics come back over the MLflow REST API as ``"NaN"``/``"Infinity"``."""
    from cloudml_edu.backends import open_backend
    from cloudml_edu.options import TrainOptions

    ws = mock_databricks.workspace
    backend = open_backend("automl", "databricks", ws, TrainOptions(), progress=False)
    _logged(
        mock_databricks.mlflow_root, "a" * 32, {"test_accuracy_score": 0.9, "test_f1_score": NAN}
    )
    with caplog.at_level(logging.WARNING):
        metrics = backend._trial_metrics("a" * 32)  # type: ignore[attr-defined]
    assert metrics.accuracy == 0.9 and metrics.f1_weighted is None
    assert "nan" in caplog.text.lower()
    _logged(
        mock_databricks.mlflow_root,
        "b" * 32,
        {"test_accuracy_score": NAN, "val_accuracy_score": INF},
    )
    with pytest.raises(BackendError, match="accuracy"):
        backend._trial_metrics("b" * 32)  # type: ignore[attr-defined]
