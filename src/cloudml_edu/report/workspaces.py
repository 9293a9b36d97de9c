"""Several workspaces at once: how an instructor compares handed-in workspace folders.

A workspace folder is any folder with an ``mlflow.db`` (its run store).  Students
hand in their ``.cloudml`` folders; :func:`find_workspaces` finds them under a
class folder, :func:`runs_of_workspaces` reads every run (the runs keep their
workspace, so two students who both kept the default owner ``student`` stay apart)
and says, one line each, which owners collide and which workspaces still use the
default owner.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cloudml_edu.errors import NotFoundError
from cloudml_edu.report.comparison import workspace_label

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.workspace import Workspace

__all__ = [
    "DEFAULT_OWNER",
    "datasets_of",
    "find_workspaces",
    "owner_notes",
    "run_workspace",
    "runs_of_workspaces",
    "workspace_folder",
]

#: The owner a workspace has when nobody set one.
DEFAULT_OWNER = "student"
#: How deep under a class folder to look for handed-in workspaces (class/alice/.cloudml).
_DEPTH = 3


def _stores_under(folder: Path, depth: int) -> list[Path]:
    if (folder / "mlflow.db").is_file():
        return [folder]
    if depth == 0:
        return []
    return [
        found
        for child in sorted(p for p in folder.iterdir() if p.is_dir())
        for found in _stores_under(child, depth - 1)
    ]


def find_workspaces(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The workspace folders ``paths`` name: each a workspace (has ``mlflow.db``) or a folder
    of them (any sub-folder, up to three levels down, with an ``mlflow.db``)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            raise NotFoundError(f"{path} is not a folder: pass a workspace folder (with mlflow.db)")
        stores = _stores_under(path.resolve(), _DEPTH)
        if not stores:
            raise NotFoundError(
                f"no workspace in {path}: no mlflow.db there or in its sub-folders; pass the "
                "folder of a workspace (.cloudml) or a folder of handed-in workspaces"
            )
        found += [store for store in stores if store not in found]
    return found


def runs_of_workspaces(
    folders: Iterable[str | os.PathLike[str]], *, owner: str | None = None
) -> tuple[list[TrainingRun], list[str]]:
    """Every training run in the workspaces at ``folders`` (one owner's with ``owner``),
    and notes: owners found in several workspaces, workspaces with the default owner.

    Moved workspace folders are pointed at their own artifacts first
    (:func:`cloudml_edu.run_store.relocate_artifacts`).
    """
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.run_store import relocate_artifacts
    from cloudml_edu.workspace import Workspace

    runs: list[TrainingRun] = []
    for folder in folders:
        ws = Workspace.local(folder)
        relocate_artifacts(ws)
        runs += TrainingRun.list(ws, owner=owner)
    return runs, owner_notes(runs)


def owner_notes(runs: Iterable[TrainingRun]) -> list[str]:
    """One line per owner found in several workspaces, one for workspaces with the default owner."""
    where: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        where[run.owner].add(workspace_label(run.tracking_uri))
    notes = [
        f"owner {name!r} has runs in {len(places)} workspaces ({', '.join(sorted(places))}): "
        "told apart by the workspace column"
        for name, places in sorted(where.items())
        if len(places) > 1
    ]
    defaults = sorted(where.get(DEFAULT_OWNER, ()))
    if defaults:
        notes.append(
            f"{len(defaults)} workspace(s) still use the default owner {DEFAULT_OWNER!r} "
            f"({', '.join(defaults)}): set owner in cloudml.toml or CLOUDML_OWNER"
        )
    return notes


def workspace_folder(run: TrainingRun) -> Path:
    """The workspace folder whose run store holds ``run`` (the folder of its ``mlflow.db``)."""
    return Path(run.tracking_uri.removeprefix("sqlite:///")).parent


def run_workspace(run: TrainingRun, home: Workspace | None = None) -> Workspace:
    """The workspace ``run`` was read from, as its owner: ``home`` when it is that folder
    (keeping its cloud settings), else the handed-in folder as a local workspace."""
    from cloudml_edu.workspace import Workspace

    folder = workspace_folder(run)
    if home is not None and home.root == folder.resolve() and home.owner == run.owner:
        return home
    return Workspace.local(folder, owner=run.owner)


def _dataset_of(run: TrainingRun, home: Workspace | None) -> Dataset:
    """The run's dataset: registered in its workspace's catalog, else the newest complete
    version of ``owner/name`` in its store (a dataset uploaded but never registered)."""
    from cloudml_edu.datasets import Dataset, open_dataset
    from cloudml_edu.datasets.versions import list_versions
    from cloudml_edu.errors import CloudMLError, NotFoundError
    from cloudml_edu.manifest import version_prefix

    ws = run_workspace(run, home)
    try:
        return Dataset.load(ws, run.dataset)
    except CloudMLError as exc:
        versions = [
            v for v in list_versions(ws) if v.name == run.dataset and v.complete and v.created
        ]
        if not versions:
            raise NotFoundError(f"no version of it in the store ({exc})") from exc
        newest = max(versions, key=lambda v: v.created or 0)
        return open_dataset(ws.store, version_prefix(run.owner, run.dataset, newest.version))


def datasets_of(
    runs: Iterable[TrainingRun], home: Workspace | None = None
) -> tuple[list[Dataset], list[str]]:
    """The dataset each run trained on, loaded from the run's own workspace catalog (a
    handed-in folder's, or ``home``), once per owner, workspace and name; and a note for
    each one not found there."""
    from cloudml_edu.errors import CloudMLError

    found: list[Dataset] = []
    notes: list[str] = []
    seen: set[tuple[Path, str, str]] = set()
    for run in runs:
        key = (workspace_folder(run), run.owner, run.dataset)
        if not run.dataset or key in seen:
            continue
        seen.add(key)
        try:
            found.append(_dataset_of(run, home))
        except CloudMLError as exc:
            notes.append(
                f"no summary of dataset {run.dataset} of {run.owner}: not readable in "
                f"{workspace_label(run.tracking_uri)} (handed in without --images?): {exc}"
            )
    return found, notes
