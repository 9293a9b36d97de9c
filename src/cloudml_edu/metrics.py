"""The public home of :class:`Metrics`, one schema for every backend.

Defined with the other records in :mod:`cloudml_edu.records.metrics`, the
bottom layer every adapter may import; this module keeps the import path users
and the docs know (``from cloudml_edu.metrics import Metrics``).
"""

from __future__ import annotations

from cloudml_edu.records.metrics import (
    ARTIFACT_NAME,
    ClassReport,
    Compute,
    Metrics,
    lower_is_better,
    metrics_json_schema,
)

__all__ = [
    "ARTIFACT_NAME",
    "ClassReport",
    "Compute",
    "Metrics",
    "lower_is_better",
    "metrics_json_schema",
]
