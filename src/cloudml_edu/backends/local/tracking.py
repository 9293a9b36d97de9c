"""MLflow tracking for local runs: a SQLite store and artifact folder under the workspace."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from cloudml_edu.errors import NotFoundError
from cloudml_edu.run import RUN_RECORD, TrainingRun

if TYPE_CHECKING:
    import mlflow

    from cloudml_edu.workspace import Workspace

__all__ = ["list_runs", "load_run", "save_record", "start_run", "use_workspace"]

# MLflow draws a tqdm bar for every artifact it reads; ours are tiny, so keep the terminal quiet.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def use_workspace(ws: Workspace, experiment: str) -> str:
    """Point MLflow at the workspace's store; create ``experiment`` there if needed."""
    import mlflow

    mlflow.set_tracking_uri(ws.tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    location = (ws.artifact_root / experiment).as_uri()
    return str(mlflow.create_experiment(experiment, artifact_location=location))


@contextmanager
def start_run(
    ws: Workspace,
    *,
    experiment: str,
    backend: str,
    dataset: str,
    run_name: str | None = None,
    nested: bool = False,
    tags: dict[str, str] | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run tagged with owner, backend and dataset (so instructors can filter)."""
    import mlflow

    experiment_id = use_workspace(ws, experiment)
    all_tags = {"cloudml.owner": ws.owner, "cloudml.backend": backend, "cloudml.dataset": dataset}
    all_tags.update(tags or {})
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=run_name, nested=nested, tags=all_tags
    ) as active:
        yield active


def save_record(run: TrainingRun) -> None:
    """Log the run's record (``run.json``) to its MLflow run."""
    import mlflow

    mlflow.MlflowClient().log_text(run.id, run.model_dump_json(indent=1), RUN_RECORD)


def load_run(ws: Workspace, run_id: str) -> TrainingRun:
    """Rebuild a :class:`TrainingRun` from its MLflow run."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(ws.tracking_uri)
    try:
        text = mlflow.artifacts.load_text(f"runs:/{run_id}/{RUN_RECORD}")
    except (MlflowException, OSError) as exc:
        raise NotFoundError(
            f"run {run_id} has no {RUN_RECORD} in {ws.tracking_uri}; list runs with "
            "`cloudml-edu runs` and pass one of their ids"
        ) from exc
    run = TrainingRun.model_validate(json.loads(text))
    run.tracking_uri = ws.tracking_uri  # where it was read from, even if the folder moved
    return run


def list_runs(
    ws: Workspace, *, experiment: str = "cloudml-edu", owner: str | None = None
) -> list[TrainingRun]:
    """Every finished training run in the workspace's store, newest first (optionally one owner's)."""
    import mlflow

    mlflow.set_tracking_uri(ws.tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        return []
    query = "tags.`cloudml.kind` = 'training'"
    if owner is not None:
        query += f" AND tags.`cloudml.owner` = '{owner}'"
    runs: list[Any] = mlflow.search_runs(
        experiment_ids=[found.experiment_id],
        filter_string=query,
        output_format="list",
        order_by=["attributes.start_time DESC"],
    )
    found_runs = []
    for r in runs:
        try:
            found_runs.append(load_run(ws, r.info.run_id))
        except NotFoundError:  # a run that crashed before recording itself
            continue
    return found_runs
