"""MLflow plumbing of the local backends: the active run that training code logs into.

The run's record and id live in :mod:`cloudml_edu.run_store`; this module only
points MLflow's process-wide tracking URI at the workspace and opens runs
(the run's own, resumed, or an AutoML trial's child run) as active runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cloudml_edu.run_store import experiment_id

if TYPE_CHECKING:
    import mlflow

    from cloudml_edu.workspace import Workspace

__all__ = ["active_run", "child_run", "use_workspace"]


def use_workspace(ws: Workspace, experiment: str) -> str:
    """Point MLflow at the workspace's store; return ``experiment``'s id (created if needed)."""
    import mlflow

    mlflow.set_tracking_uri(ws.ensure_tracking_store())
    return experiment_id(ws, experiment)


@contextmanager
def active_run(ws: Workspace, run_id: str) -> Iterator[mlflow.ActiveRun]:
    """Resume the record run ``run_id`` as MLflow's active run (training logs into it)."""
    import mlflow

    mlflow.set_tracking_uri(ws.ensure_tracking_store())
    with mlflow.start_run(run_id=run_id) as active:
        yield active


@contextmanager
def child_run(
    ws: Workspace, *, experiment: str, backend: str, dataset: str, run_name: str
) -> Iterator[mlflow.ActiveRun]:
    """A child of the active run (an AutoML trial), tagged like its parent."""
    import mlflow

    tags = {
        "cloudml.owner": ws.owner,
        "cloudml.backend": backend,
        "cloudml.dataset": dataset,
        "cloudml.kind": "trial",
    }
    with mlflow.start_run(
        experiment_id=use_workspace(ws, experiment), run_name=run_name, nested=True, tags=tags
    ) as active:
        yield active
