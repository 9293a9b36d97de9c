"""Rebuild a workspace's damaged SQLite stores from what the workspace still holds.

``catalog.db`` is rebuilt from the stored manifests (every complete version of this
owner in the workspace's store is registered again) and ``mlflow.db`` from the run
records (``artifacts/<experiment>/<run id>/artifacts/run.json``: each run gets back
its id, experiment, tags, status and times, so ``runs``, ``compare``, ``report`` and
``deploy`` find it again).  A damaged file is kept next to the new one as
``<name>.damaged-<time>``; a store that reads fine is left as it is.  MLflow 3 keeps a
run's model as a *logged model* (``artifacts/<experiment>/models/<model id>/``,
found by its source run and name), so those rows are rebuilt too, from each model's
``MLmodel`` file: ``runs:/<run>/model`` resolves again and the run can be deployed.

>>> from cloudml_edu import Workspace                           # doctest: +SKIP
>>> from cloudml_edu.repair import repair_workspace
>>> repair_workspace(Workspace.local())
"""

from __future__ import annotations

import json
import logging
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu._sqlite import check_sqlite
from cloudml_edu.errors import StoreDamagedError

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["RepairReport", "repair_workspace"]

log = logging.getLogger(__name__)

#: MLflow's run status for each of the library's.
_MLFLOW_STATUS = {
    "Completed": "FINISHED",
    "Failed": "FAILED",
    "Canceled": "KILLED",
    "Running": "RUNNING",
    "NotStarted": "SCHEDULED",
}


@dataclass(frozen=True)
class RepairReport:
    """What :func:`repair_workspace` did: the counts rebuilt (None: that store was fine and
    left alone), the damaged files kept aside, and the records it could not read."""

    catalog_versions: int | None
    runs: int | None
    kept: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def repair_workspace(workspace: Workspace) -> RepairReport:
    """Rebuild ``catalog.db`` and ``mlflow.db`` when damaged (or missing while the
    workspace has versions or run records); returns what was done."""
    kept: list[Path] = []
    skipped: list[str] = []
    root = workspace.root
    catalog = _rebuild_catalog(workspace, kept) if _needs(root / "catalog.db") else None
    runs = _rebuild_runs(workspace, kept, skipped) if _needs(root / "mlflow.db") else None
    return RepairReport(catalog_versions=catalog, runs=runs, kept=kept, skipped=skipped)


def _needs(path: Path) -> bool:
    try:
        check_sqlite(path, rebuilt_from="")
    except StoreDamagedError:
        return True
    return not path.is_file()


def _set_aside(path: Path, kept: list[Path]) -> None:
    if path.is_file():
        aside = path.with_name(f"{path.name}.damaged-{datetime.now(UTC):%Y%m%d-%H%M%S}")
        path.replace(aside)
        kept.append(aside)
    for extra in ("-wal", "-shm", "-journal"):
        path.with_name(path.name + extra).unlink(missing_ok=True)


def _rebuild_catalog(ws: Workspace, kept: list[Path]) -> int:
    """Register every complete version of this owner in the store again."""
    from cloudml_edu.catalog import Catalog
    from cloudml_edu.datasets.upload import read_manifest
    from cloudml_edu.datasets.versions import list_versions
    from cloudml_edu.manifest import version_prefix

    _set_aside(ws.root / "catalog.db", kept)
    catalog = Catalog(ws.root / "catalog.db")
    count = 0
    for info in list_versions(ws):
        prefix = version_prefix(info.owner, info.name, info.version)
        manifest = read_manifest(ws.store, prefix) if info.complete else None
        if manifest is not None:
            catalog.register(
                manifest, prefix=prefix, store_url=ws.store.url, schema=ws.schema, name=None
            )
            count += 1
    return count


def _rebuild_runs(ws: Workspace, kept: list[Path], skipped: list[str]) -> int:
    """A new MLflow store holding every run that has a readable run record."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    path = ws.root / "mlflow.db"
    # MLflow keeps one engine per URI for the process: close its connections to the old file
    cached = SqlAlchemyStore._engine_map.get(ws.tracking_uri)
    if cached is not None:
        cached.dispose()
    _set_aside(path, kept)
    (ws.root / ".mlflow-ready").unlink(missing_ok=True)
    store = SqlAlchemyStore(ws.tracking_uri, ws.artifact_root.as_uri())  # type: ignore[no-untyped-call]
    (ws.root / ".mlflow-ready").touch()
    count = 0
    for folder in sorted(p for p in ws.artifact_root.iterdir() if p.is_dir()):
        records = sorted(folder.glob("*/artifacts/run.json"))
        if not records:
            continue
        found = store.get_experiment_by_name(folder.name)  # type: ignore[no-untyped-call]
        experiment = (
            found.experiment_id
            if found is not None
            else store.create_experiment(folder.name, artifact_location=folder.as_uri())  # type: ignore[no-untyped-call]
        )
        names: dict[str, str] = {}  # run id -> its model's name (runs:/<run>/<name>)
        with closing(sqlite3.connect(path, timeout=30)) as db, db:
            for record in records:
                row = _run_row(record, str(experiment), skipped)
                if row is not None:
                    _insert(db, row)
                    names[row["run"][0]] = row["model_name"]
                    count += 1
            for model in _model_rows(folder, str(experiment), names, skipped):
                db.execute(
                    "INSERT OR REPLACE INTO logged_models (model_id, experiment_id, name, "
                    "artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, "
                    "status, lifecycle_stage, model_type, source_run_id, status_message) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    model,
                )
    return count


#: MLflow's LoggedModelStatus.READY (a model whose files are all written).
_MODEL_READY = 2


def _model_rows(
    folder: Path, experiment: str, names: dict[str, str], skipped: list[str]
) -> list[tuple[Any, ...]]:
    """The ``logged_models`` rows of an experiment folder's models whose run was restored."""
    import yaml

    rows: list[tuple[Any, ...]] = []
    for mlmodel in sorted(folder.glob("models/*/artifacts/MLmodel")):
        model_id = mlmodel.parent.parent.name
        try:
            data = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
            named = data.get("model_id") if isinstance(data, dict) else None
            if not isinstance(data, dict) or named != model_id:
                raise ValueError(f"it names model {named!r}")
            created = _millis(str(data.get("utc_time_created", "")).replace(" ", "T"))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            skipped.append(f"{mlmodel}: {exc}")
            log.warning("skipping the unreadable model file %s: %s", mlmodel, exc)
            continue
        run_id = str(data.get("run_id", ""))
        if run_id not in names:  # its run has no record: nothing would look the model up
            continue
        stamp = created or int(mlmodel.stat().st_mtime * 1000)
        rows.append(
            (
                model_id, int(experiment), names[run_id], mlmodel.parent.as_uri(), stamp, stamp,
                _MODEL_READY, "active", None, run_id, None,
            )
        )  # fmt: skip
    return rows


def _run_row(record: Path, experiment: str, skipped: list[str]) -> dict[str, Any] | None:
    """The ``runs`` row and tags of one run record; None (noted) when it cannot be read."""
    run_id = record.parent.parent.name
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        if data.get("id") != run_id:
            raise ValueError(f"it names run {data.get('id')!r}")
        started = _millis(data.get("started"))
    except (OSError, ValueError, AttributeError) as exc:
        skipped.append(f"{record}: {exc}")
        log.warning("skipping the unreadable run record %s: %s", record, exc)
        return None
    return {
        "run": (
            run_id, run_id[:8], "LOCAL", "", "", str(data.get("owner", "")),
            _MLFLOW_STATUS.get(str(data.get("status")), "FAILED"), started,
            _millis(data.get("ended")), None, "", "active", record.parent.as_uri(), experiment,
        ),
        "model_name": str(data.get("model") or "").rsplit("/", 1)[-1] or "model",
        "tags": {
            "cloudml.owner": str(data.get("owner", "")),
            "cloudml.backend": str(data.get("backend", "")),
            "cloudml.target": str(data.get("target", "local")),
            "cloudml.dataset": str(data.get("dataset", "")),
            "cloudml.kind": "training",
        },
    }  # fmt: skip


def _millis(value: object) -> int | None:
    """Milliseconds since the epoch of an ISO time (a time without a zone is UTC)."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp() * 1000)


def _insert(db: sqlite3.Connection, row: dict[str, Any]) -> None:
    db.execute(
        "INSERT OR REPLACE INTO runs (run_uuid, name, source_type, source_name, "
        "entry_point_name, user_id, status, start_time, end_time, deleted_time, "
        "source_version, lifecycle_stage, artifact_uri, experiment_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        row["run"],
    )
    db.executemany(
        "INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES (?,?,?)",
        [(key, value, row["run"][0]) for key, value in row["tags"].items()],
    )
