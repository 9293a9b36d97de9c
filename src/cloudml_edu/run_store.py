"""The workspace's run store: one record (``run.json``) per training run, local or cloud.

Every run, whatever its target, has an MLflow run in the workspace's own
tracking store (SQLite under the workspace folder); its record is logged there
as the ``run.json`` artifact.  Cloud adapters call :func:`create_record_run`
too, so ``cloudml-edu runs``, ``compare`` and ``report`` treat all runs alike.

This module deals in ids and JSON text; :class:`cloudml_edu.TrainingRun`
(``get``, ``list``, ``save``) parses and writes them.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu._secrets import redact
from cloudml_edu.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = [
    "MIN_PREFIX",
    "RUN_RECORD",
    "create_record_run",
    "experiment_id",
    "keep_files",
    "list_record_items",
    "list_records",
    "load_record",
    "relocate_artifacts",
    "resolve_run_id",
    "save_record",
]

RUN_RECORD = "run.json"
#: The shortest id prefix accepted (``cloudml-edu`` prints 8; any unique prefix works, as in git).
MIN_PREFIX = 4
_FULL_ID = re.compile(r"[0-9a-f]{32}")
_PREFIX = re.compile(rf"[0-9a-f]{{{MIN_PREFIX},32}}")
_TRAINING = "tags.`cloudml.kind` = 'training'"

# MLflow draws a tqdm bar for every artifact it reads; ours are tiny, so keep the terminal quiet.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _client(tracking_uri: str) -> Any:
    import mlflow

    return mlflow.MlflowClient(tracking_uri=tracking_uri)


def experiment_id(ws: Workspace, experiment: str) -> str:
    """The id of ``experiment`` in the workspace's store, created (artifacts under the workspace) if new."""
    client = _client(ws.ensure_tracking_store())
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    location = (ws.artifact_root / experiment).as_uri()
    return str(client.create_experiment(experiment, artifact_location=location))


def create_record_run(
    ws: Workspace,
    *,
    experiment: str,
    backend: str,
    target: str,
    dataset: str,
    tags: dict[str, str] | None = None,
) -> str:
    """Make the MLflow run that holds a training run's record; return its id (the run's id).

    Tagged with owner, backend, target and dataset, so instructors can filter.
    """
    for name, value in (("experiment", experiment), ("backend", backend), ("target", target)):
        if not value:
            raise ConfigError(f"create_record_run needs a non-empty {name}")
    created = _client(ws.ensure_tracking_store()).create_run(
        experiment_id(ws, experiment),
        tags={
            "cloudml.owner": ws.owner,
            "cloudml.backend": backend,
            "cloudml.target": target,
            "cloudml.dataset": dataset,
            "cloudml.kind": "training",
            **(tags or {}),
        },
    )
    return str(created.info.run_id)


def save_record(tracking_uri: str, run_id: str, record: str) -> None:
    """Write ``record`` (a run's JSON) as the ``run.json`` of MLflow run ``run_id``, with
    every known secret and credential pattern redacted: the run store never holds one."""
    _client(tracking_uri).log_text(run_id, redact(record), RUN_RECORD)


def keep_files(ws: Workspace, run_id: str, folder: Path) -> None:
    """Copy a cloud run's files (``metrics.json``, predictions, features, misclassified images,
    as its job wrote them) beside its record, where the report reads a local run's."""
    _client(ws.ensure_tracking_store()).log_artifacts(run_id, str(folder))


def load_record(ws: Workspace, run_id: str) -> str:
    """The JSON record of run ``run_id`` (a full id or a unique prefix of at least 4 characters)."""
    full = resolve_run_id(ws, run_id)
    store = ws.ensure_tracking_store()
    text = _read_record(store, full)
    if text is None:
        gone = _artifacts_gone(_client(store).get_run(full))
        if gone is not None:
            raise NotFoundError(_gone_message(full, gone))
        raise NotFoundError(
            f"run {full} has no {RUN_RECORD} in {ws.tracking_uri} (it ended before recording "
            "itself); list runs with `cloudml-edu runs` and pass one of their ids"
        )
    return text


def list_records(ws: Workspace, *, owner: str | None = None) -> list[str]:
    """The JSON records of every training run in the workspace, newest first (optionally one owner's)."""
    return [text for _, text in list_record_items(ws, owner=owner)]


def list_record_items(ws: Workspace, *, owner: str | None = None) -> list[tuple[str, str]]:
    """(run id, JSON record) of every training run in the workspace, newest first.

    A run whose artifacts folder is gone (deleted, or not copied with the workspace)
    is listed with a stand-in record saying so (status Failed, the reason as its
    error), not left out; one that crashed before recording itself is left out.
    """
    records = []
    store = ws.ensure_tracking_store()
    for found in _training_runs(store):
        if owner is not None and found.data.tags.get("cloudml.owner") != owner:
            continue
        text = _read_record(store, found.info.run_id)
        if text is None:
            gone = _artifacts_gone(found)
            text = None if gone is None else _stand_in(found, gone)
        if text is not None:
            records.append((str(found.info.run_id), text))
    return records


def _artifacts_gone(found: Any) -> Path | None:
    """The run's local artifacts folder when it no longer exists; None otherwise."""
    from urllib.parse import unquote, urlparse

    uri = str(found.info.artifact_uri or "")
    if not uri.startswith("file:"):
        return None
    folder = Path(unquote(urlparse(uri).path))
    return None if folder.exists() else folder


def _gone_message(run_id: str, folder: Path) -> str:
    return (
        f"the artifacts of run {run_id[:8]} are gone from {folder} (deleted, or the workspace "
        "was copied without them): its record, model and plots cannot be read. Restore that "
        "folder from a copy, or train again"
    )


def _stand_in(found: Any, folder: Path) -> str:
    """A record for a run whose artifacts are gone, from what the run store still knows."""
    import json
    from datetime import UTC, datetime

    tags = found.data.tags
    started = datetime.fromtimestamp((found.info.start_time or 0) / 1000, UTC)
    return json.dumps(
        {
            "id": found.info.run_id,
            "backend": tags.get("cloudml.backend", "unknown"),
            "target": tags.get("cloudml.target", "local"),
            "owner": tags.get("cloudml.owner", ""),
            "dataset": tags.get("cloudml.dataset", ""),
            "status": "Failed",
            "started": started.isoformat(),
            "error": _gone_message(str(found.info.run_id), folder),
        }
    )


def resolve_run_id(ws: Workspace, run_id: str) -> str:
    """The full id of the run ``run_id`` names: itself, or the one run whose id starts with it."""
    ref = run_id.strip().lower()
    if not _PREFIX.fullmatch(ref):
        raise ConfigError(
            f"{run_id!r} is not a run id: pass the 32 hex characters of a run id, or a unique "
            f"prefix of at least {MIN_PREFIX} (`cloudml-edu runs` prints 8)"
        )
    store = ws.ensure_tracking_store()
    if _FULL_ID.fullmatch(ref) and _exists(store, ref):
        return ref
    matches = [r.info.run_id for r in _training_runs(store) if r.info.run_id.startswith(ref)]
    if len(matches) == 1:
        return str(matches[0])
    if not matches:
        raise NotFoundError(
            f"no training run {run_id} in {ws.tracking_uri}; list runs with `cloudml-edu runs` "
            "(or pass the workspace the run was made in, --config)"
        )
    shown = ", ".join(m[:12] for m in matches[:10]) + (", ..." if len(matches) > 10 else "")
    raise NotFoundError(
        f"run id prefix {run_id} matches {len(matches)} runs ({shown}); pass more characters"
    )


#: MLflow's tables and columns that hold absolute artifact locations.
_LOCATIONS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
)


def relocate_artifacts(ws: Workspace) -> int:
    """Point a moved workspace's run store at its own artifacts; return the rows changed.

    MLflow stores absolute artifact locations (``file:///home/alice/.cloudml/artifacts/...``);
    once a workspace folder is moved (the old folder gone: its runs would read as missing)
    or copied (``cp -r .cloudml copy``: new runs would write into the original), the
    locations must be this folder's.  A location outside this workspace is rewritten when
    its folder is gone, or when this workspace holds its own copy of that experiment's
    artifacts.  Called once per Workspace by :meth:`Workspace.ensure_tracking_store`.
    """
    import sqlite3
    from contextlib import closing
    from urllib.parse import unquote, urlparse

    new_root = ws.artifact_root.as_uri()
    changed = 0
    with closing(sqlite3.connect(ws.root / "mlflow.db", timeout=30)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        found = [
            str(row[0])
            for row in db.execute("SELECT artifact_location FROM experiments")
            if str(row[0]).startswith("file://") and "/artifacts/" in str(row[0])
        ]
        for location in found:
            old_root = location[: location.rindex("/artifacts/") + len("/artifacts")]
            experiment = unquote(location[len(old_root) + 1 :])
            copied = (ws.artifact_root / experiment).is_dir()
            if old_root == new_root or (
                Path(unquote(urlparse(old_root).path)).exists() and not copied
            ):
                continue
            for table, column in _LOCATIONS:
                if table in tables:
                    cursor = db.execute(
                        f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                        f"WHERE substr({column}, 1, ?) = ?",
                        (new_root, len(old_root) + 1, len(old_root), old_root),
                    )
                    changed += cursor.rowcount
        db.commit()
    return changed


def _exists(tracking_uri: str, run_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        _client(tracking_uri).get_run(run_id)
    except MlflowException:
        return False
    return True


def _read_record(tracking_uri: str, run_id: str) -> str | None:
    """The ``run.json`` text of ``run_id``, or None when the run logged none."""
    import mlflow
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="cloudml-run-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=RUN_RECORD, dst_path=tmp, tracking_uri=tracking_uri
            )
        except (MlflowException, OSError):
            return None
        return Path(path).read_text()


def _training_runs(tracking_uri: str) -> Iterator[Any]:
    """Every training run (MLflow ``Run``) in every experiment of the store, newest first."""
    client = _client(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return
    token = None
    while True:
        page = client.search_runs(
            experiments,
            filter_string=_TRAINING,
            order_by=["attributes.start_time DESC"],
            max_results=1000,
            page_token=token,
        )
        yield from page
        token = page.token
        if not token:
            return
