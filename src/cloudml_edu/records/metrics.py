"""One metrics schema for every backend, with mappers from each service's native names.

Local backends, Azure ML jobs, Designer's *Evaluate Model* and Databricks AutoML
all name their metrics differently; :class:`Metrics` is what a student compares.
Scalars round-trip through MLflow run metrics; the confusion matrix and label
order travel as the ``metrics.json`` artifact beside them.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloudml_edu.errors import BackendError

__all__ = ["ClassReport", "Compute", "Metrics", "lower_is_better", "metrics_json_schema"]

ARTIFACT_NAME = "metrics.json"

log = logging.getLogger(__name__)


#: Scalars that may be missing (None) when a service does not report them.
_OPTIONAL = (
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "log_loss",
)
#: Every scalar of the schema: what `to_mlflow` logs and a service's native names map to.
_SCALARS = ("accuracy", *_OPTIONAL, "n_train", "n_test", "train_seconds", "cost_usd")


#: Metrics where a smaller value is the better one: losses, time and money.
_LOWER_IS_BETTER = frozenset(
    {"log_loss", "train_seconds", "wall_seconds", "node_hours", "cost_usd"}
)


def lower_is_better(metric: str) -> bool:
    """True for a metric where smaller wins (``log_loss``, time, cost); False for scores."""
    return metric in _LOWER_IS_BETTER


class ClassReport(BaseModel):
    """Precision, recall, F1 and support of one class."""

    model_config = ConfigDict(frozen=True)

    precision: float = Field(ge=0, le=1)
    recall: float = Field(ge=0, le=1)
    f1: float = Field(ge=0, le=1)
    support: int = Field(ge=0)


class Compute(BaseModel):
    """What ran the training: machine size, node count, node-hours used."""

    model_config = ConfigDict(frozen=True)

    sku: str = "local"
    nodes: int = Field(default=1, ge=0)
    node_hours: float = Field(default=0.0, ge=0)


class Metrics(BaseModel):
    """Evaluation of a classifier on its held-out test split, the same for every backend.

    Local backends fill every field.  Metrics mapped from a service's native names
    leave ``None`` where the service does not report a value (Databricks AutoML
    reports weighted averages only, for example).
    """

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _missing_not_nan(cls, data: Any) -> Any:
        """A NaN or infinite value from any service is recorded as missing (None), with a
        warning; a class report holding one is left out.  Accuracy cannot be missing:
        :class:`BackendError` (so the run ends Failed, never stays Running)."""
        if not isinstance(data, dict):
            return data
        cleaned = dict(data)
        for name, value in data.items():
            if name in _SCALARS and not _finite(value):
                if name == "accuracy":
                    raise BackendError(
                        f"the service reported accuracy = {value}, so the run has no usable "
                        "score; it ends Failed. Check the job's log (an empty test split, a "
                        "failed evaluation step) and train again"
                    )
                log.warning("metric %s = %s is not a number: recorded as missing", name, value)
                cleaned[name] = None if name in _OPTIONAL else 0
        per_class = data.get("per_class")
        if isinstance(per_class, dict):
            kept = {}
            for label, report in per_class.items():
                values = report.values() if isinstance(report, dict) else ()
                if all(_finite(v) for v in values):
                    kept[label] = report
                else:
                    log.warning("class %s has a metric that is not a number: left out", label)
            cleaned["per_class"] = kept
        return cleaned

    accuracy: float = Field(ge=0, le=1)
    precision_macro: float | None = Field(default=None, ge=0, le=1)
    recall_macro: float | None = Field(default=None, ge=0, le=1)
    f1_macro: float | None = Field(default=None, ge=0, le=1)
    precision_weighted: float | None = Field(default=None, ge=0, le=1)
    recall_weighted: float | None = Field(default=None, ge=0, le=1)
    f1_weighted: float | None = Field(default=None, ge=0, le=1)
    log_loss: float | None = Field(default=None, ge=0)
    labels: list[str] = Field(default_factory=list, description="Label order of the matrix")
    confusion_matrix: list[list[int]] = Field(
        default_factory=list, description="Rows are true labels, columns predicted"
    )
    per_class: dict[str, ClassReport] = Field(default_factory=dict)
    n_train: int = Field(default=0, ge=0)
    n_test: int = Field(default=0, ge=0)
    train_seconds: float = Field(default=0.0, ge=0)
    compute: Compute = Compute()
    cost_usd: float = Field(default=0.0, ge=0, description="Estimated compute cost")

    def __repr__(self) -> str:
        from cloudml_edu._notebook import metrics_repr

        return metrics_repr(self)

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import metrics_html

        return metrics_html(self)

    def to_mlflow(self) -> dict[str, float]:
        """Flat numeric metrics for ``mlflow.log_metrics`` (per-class ones as ``<metric>.<label>``)."""
        flat: dict[str, float] = {}
        for name in _SCALARS:
            value = getattr(self, name)
            if value is not None:
                flat[name] = float(value)
        flat["node_hours"] = self.compute.node_hours
        for label, report in self.per_class.items():
            safe = _metric_safe(label)
            flat[f"precision.{safe}"] = report.precision
            flat[f"recall.{safe}"] = report.recall
            flat[f"f1.{safe}"] = report.f1
        return flat

    @classmethod
    def from_mlflow(
        cls, metrics: Mapping[str, float], artifact: str | bytes | None = None
    ) -> Metrics:
        """Rebuild from an MLflow run: the ``metrics.json`` artifact if given, else the scalars.

        Native names from Designer, Azure AutoML or Databricks AutoML are mapped too.
        """
        if artifact is not None:
            return cls.model_validate_json(artifact)
        return cls.from_native(metrics)

    @classmethod
    def from_native(cls, metrics: Mapping[str, float]) -> Metrics:
        """Map any backend's metric names onto this schema (see :data:`NATIVE_NAMES`)."""
        values: dict[str, Any] = {}
        finite = {}
        for name, value in metrics.items():
            if _finite(value):
                finite[name] = value
            else:  # missing: a twin (validation for test) or None takes its place
                log.warning("metric %s = %s is not a number: recorded as missing", name, value)
        # A held-out test metric wins over its validation twin (Databricks AutoML logs both).
        for name, value in sorted(finite.items(), key=lambda item: not item[0].startswith("test_")):
            target = NATIVE_NAMES.get(name, name if name in _SCALARS else None)
            if target is not None and target not in values:
                values[target] = value
        # A binary Evaluate Model run only has the plain names; reuse them for both averages.
        for average in ("macro", "weighted"):
            for base in ("precision", "recall", "f1"):
                key = f"{base}_{average}"
                if key not in values and base in values:
                    values[key] = values[base]
        for base in ("precision", "recall", "f1"):
            values.pop(base, None)
        if "accuracy" not in values:
            raise BackendError(
                "no usable accuracy among the metrics "
                + ", ".join(sorted(metrics))
                + "; add a mapping to cloudml_edu.metrics.NATIVE_NAMES"
            )
        for key in ("n_train", "n_test"):
            if key in values:
                values[key] = int(values[key])
        node_hours = finite.get("node_hours")
        if node_hours is not None:
            values["compute"] = Compute(node_hours=float(node_hours))
        try:
            return cls.model_validate(values)
        except ValueError as exc:  # a value out of range: the run cannot be scored
            raise BackendError(f"the service's metrics cannot be read: {exc}") from exc

    def artifact(self) -> str:
        """The full metrics as JSON, logged as ``metrics.json`` next to the run's scalars."""
        return self.model_dump_json(indent=2)


def _finite(value: object) -> bool:
    """False for a NaN or infinite number (or its text: ``"NaN"``, ``"inf"``)."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, str):
        try:
            return math.isfinite(float(value))
        except ValueError:
            return True  # not a number at all: the field's own validation says so
    return True


def _metric_safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", label)


#: Native metric names of each service, mapped to :class:`Metrics` fields.
NATIVE_NAMES: dict[str, str] = {
    # Azure ML Designer, classic "Evaluate Model" (multiclass, then binary)
    "Overall_Accuracy": "accuracy",
    "Macro_Precision": "precision_macro",
    "Macro_Recall": "recall_macro",
    "Micro_Precision": "precision_weighted",
    "Micro_Recall": "recall_weighted",
    "Accuracy": "accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "F1 Score": "f1",
    # Azure AutoML
    "precision_score_macro": "precision_macro",
    "recall_score_macro": "recall_macro",
    "f1_score_macro": "f1_macro",
    "precision_score_weighted": "precision_weighted",
    "recall_score_weighted": "recall_weighted",
    "f1_score_weighted": "f1_weighted",
    # Databricks AutoML (mlflow.sklearn.eval_and_log_metrics): its f1, precision and recall
    # are weighted averages over classes, so they map to the *_weighted fields only
    "test_accuracy_score": "accuracy",
    "test_f1_score": "f1_weighted",
    "test_precision_score": "precision_weighted",
    "test_recall_score": "recall_weighted",
    "test_log_loss": "log_loss",
    "val_accuracy_score": "accuracy",
    "val_f1_score": "f1_weighted",
    "val_precision_score": "precision_weighted",
    "val_recall_score": "recall_weighted",
    "val_log_loss": "log_loss",
}


def metrics_json_schema() -> str:
    """The published JSON Schema of :class:`Metrics` (see docs/metrics-schema.json)."""
    return json.dumps(Metrics.model_json_schema(), indent=2)


if __name__ == "__main__":
    print(metrics_json_schema())
