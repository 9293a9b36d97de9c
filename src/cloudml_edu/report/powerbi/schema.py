"""The star schema shared by the Parquet/CSV export and the push dataset: tables, types, keys.

Power BI relates each fact table to its dimensions by integer surrogate keys
(``*_key``).  :data:`TABLES` lists every column with its type; :data:`RELATIONSHIPS`
lists every foreign key (fact or dimension column -> dimension key).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ALL_LABELS", "RELATIONSHIPS", "TABLES", "ColumnType"]

ColumnType = Literal["int", "float", "string", "bool", "datetime", "date"]
"""``datetime`` columns are UTC (timezone-aware); ``date`` is a calendar day."""

#: ``label_key`` 0 stands for "all classes" (overall metrics); real labels start at 1.
ALL_LABELS = "(all)"

TABLES: dict[str, dict[str, ColumnType]] = {
    "dim_date": {
        "date_key": "int",
        "date": "date",
        "year": "int",
        "quarter": "int",
        "month": "int",
        "month_name": "string",
        "day": "int",
        "weekday": "string",
    },
    "dim_dataset": {"dataset_key": "int", "dataset": "string", "n_labels": "int"},
    "dim_label": {"label_key": "int", "label": "string"},
    "dim_predicted_label": {"predicted_label_key": "int", "predicted_label": "string"},
    "dim_metric": {
        "metric_key": "int",
        "metric": "string",
        "description": "string",
        "direction": "string",
        "higher_is_better": "bool",
        "per_class": "bool",
    },
    "dim_model": {
        "model_key": "int",
        "model_uri": "string",
        "family": "string",
        "backend": "string",
    },
    "dim_run": {
        "run_key": "int",
        "run_id": "string",
        "owner": "string",
        "dataset": "string",
        "backend": "string",
        "target": "string",
        "status": "string",
        "started": "datetime",
        "ended": "datetime",
        "wall_seconds": "float",
        "compute_sku": "string",
        "node_hours": "float",
        "cost_usd": "float",
        "estimate_target": "string",
        "estimate_usd": "float",
        "color_mode": "string",
        "image_size": "int",
        "model_family": "string",
        "inspectable_steps": "int",
        "user_code_lines": "int",
        "deployment_steps": "int",
        "artifacts": "int",
    },
    "dim_endpoint": {
        "endpoint_key": "int",
        "endpoint": "string",
        "model_uri": "string",
        "url": "string",
        "created": "datetime",
        "run_key": "int",
        "date_key": "int",
    },
    "fact_metric": {
        "run_key": "int",
        "model_key": "int",
        "dataset_key": "int",
        "date_key": "int",
        "metric_key": "int",
        "label_key": "int",
        "value": "float",
    },
    "fact_prediction": {
        "run_key": "int",
        "model_key": "int",
        "dataset_key": "int",
        "date_key": "int",
        "true_label_key": "int",
        "predicted_label_key": "int",
        "score": "float",
        "correct": "bool",
        "path": "string",
        "image": "string",
    },
    "fact_image_feature": {
        "run_key": "int",
        "model_key": "int",
        "dataset_key": "int",
        "date_key": "int",
        "true_label_key": "int",
        "predicted_label_key": "int",
        "image": "string",
        "image_url": "string",
        "path": "string",
        "correct": "bool",
        "pc1": "float",
        "pc2": "float",
        "brightness": "float",
        "red_mean": "float",
        "green_mean": "float",
        "blue_mean": "float",
        "width": "int",
        "height": "int",
    },
    "fact_confusion": {
        "run_key": "int",
        "model_key": "int",
        "dataset_key": "int",
        "date_key": "int",
        "true_label_key": "int",
        "predicted_label_key": "int",
        "count": "int",
    },
}

_CONFORMED = (
    ("run_key", "dim_run"),
    ("model_key", "dim_model"),
    ("dataset_key", "dim_dataset"),
    ("date_key", "dim_date"),
)

#: (table, column, dimension, key): every foreign key.  A pure star: facts hold every key,
#: so Power BI sees one filter path per dimension; the predicted label is its own role table.
RELATIONSHIPS: tuple[tuple[str, str, str, str], ...] = (
    *(
        (fact, column, dim, column)
        for fact in ("fact_metric", "fact_prediction", "fact_confusion", "fact_image_feature")
        for column, dim in _CONFORMED
    ),
    ("fact_metric", "metric_key", "dim_metric", "metric_key"),
    ("fact_metric", "label_key", "dim_label", "label_key"),
    ("fact_prediction", "true_label_key", "dim_label", "label_key"),
    ("fact_prediction", "predicted_label_key", "dim_predicted_label", "predicted_label_key"),
    ("fact_confusion", "true_label_key", "dim_label", "label_key"),
    ("fact_image_feature", "true_label_key", "dim_label", "label_key"),
    ("fact_image_feature", "predicted_label_key", "dim_predicted_label", "predicted_label_key"),
    ("fact_confusion", "predicted_label_key", "dim_predicted_label", "predicted_label_key"),
    ("dim_endpoint", "run_key", "dim_run", "run_key"),
    ("dim_endpoint", "date_key", "dim_date", "date_key"),
)
