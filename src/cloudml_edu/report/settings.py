"""The settings a run trained with, as ``(setting, value)`` rows for the report.

Read from what the run logged to MLflow (``model.*``, ``features.*``, ...): the
values that were actually used, whichever backend ran.  Runs without a tracking
store fall back to what their record holds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudml_edu.run import TrainingRun

__all__ = ["run_settings"]

log = logging.getLogger(__name__)


def _logged_params(run: TrainingRun) -> dict[str, str]:
    if not run.tracking_uri:
        return {}
    import mlflow

    try:
        params = mlflow.MlflowClient(tracking_uri=run.tracking_uri).get_run(run.id).data.params
    except Exception as exc:  # an unreachable store leaves the settings short, not the report
        log.warning("cannot read the parameters of run %s: %s", run.id, exc)
        return {}
    return {str(k): str(v) for k, v in sorted(params.items())}


def run_settings(run: TrainingRun) -> list[tuple[str, str]]:
    """Backend, target, dataset, compute, then the logged parameters grouped by prefix
    (``model: family=svc, C=10.0``), so the table stays short."""
    rows = [("backend", run.backend), ("target", run.target), ("dataset", run.dataset)]
    if run.metrics is not None:
        compute = run.metrics.compute
        rows.append(("compute", f"{compute.nodes} x {compute.sku}"))
    elif run.plan is not None:
        rows.append(("compute", f"{run.plan.nodes} x {run.plan.compute_sku}"))
    groups: dict[str, list[str]] = {}
    for key, value in _logged_params(run).items():
        group, _, name = key.rpartition(".")
        groups.setdefault(group or "other", []).append(f"{name}={value}")
    return rows + [(group, ", ".join(values)) for group, values in groups.items()]
