"""``pack_workspace``: a student's workspace as one zip file to hand in.

The zip holds ``<owner>/.cloudml/`` with the run store (``mlflow.db``, run
records, MLflow artifacts), the dataset catalog and the endpoint records, so an
instructor unzips every hand-in into one class folder and runs
``cloudml-edu compare -w class/``.  The images themselves (the ``blobs/`` store)
are large and go in only with ``images=True``; without them the report has no
dataset summary for that student (it says so).  SQLite stores are copied with
SQLite's backup API, so a store being written to is packed consistently.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cloudml_edu.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["HandIn", "pack_workspace"]

#: Top-level entries of a workspace folder that never go in a hand-in: locks, staging.
_SKIPPED = frozenset({".stores.lock", ".mlflow-ready", "tmp", ".tmp"})
#: The image store: in a hand-in only when asked.
_IMAGES = "blobs"


@dataclass(frozen=True)
class HandIn:
    """What :func:`pack_workspace` wrote: the zip, how many files, whether images are in."""

    path: Path
    files: int
    bytes: int
    images: bool


def _entries(root: Path, images: bool) -> list[Path]:
    chosen = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        top = rel.parts[0]
        if top in _SKIPPED or (top == _IMAGES and not images) or not path.is_file():
            continue
        if path.name.endswith((".lock", "-wal", "-shm", "-journal")):
            continue  # a SQLite store is copied whole with the backup API
        chosen.append(path)
    return chosen


def _sqlite_copy(source: Path, folder: Path) -> Path:
    """A consistent copy of the SQLite database ``source`` (SQLite's online backup)."""
    copy = folder / source.name
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return copy


def pack_workspace(
    workspace: Workspace,
    out: str | os.PathLike[str] | None = None,
    *,
    images: bool = False,
) -> HandIn:
    """Write ``workspace`` (a local one) as a zip to hand in; return what was written.

    ``out`` is the zip file (default: ``handin-<owner>-<YYYYMMDD>.zip`` in the current
    folder); ``images=True`` adds the dataset images.  Raises :class:`NotFoundError`
    when the workspace has no runs yet and :class:`ConfigError` when ``out`` exists
    as a folder.
    """
    root = workspace.root
    if not (root / "mlflow.db").is_file():
        raise NotFoundError(
            f"no runs in {root} to hand in; train first (`cloudml-edu train DATASET`)"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    target = Path(out) if out is not None else Path(f"handin-{workspace.owner}-{stamp}.zip")
    if target.is_dir():
        raise ConfigError(f"{target} is a folder; pass a file name ending in .zip")
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = Path(workspace.owner) / ".cloudml"
    count = 0
    partial = target.with_name(target.name + ".partial")
    with (
        tempfile.TemporaryDirectory(prefix="cloudml-handin-") as tmp,
        zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for path in _entries(root, images):
            source = _sqlite_copy(path, Path(tmp)) if path.suffix == ".db" else path
            archive.write(source, (prefix / path.relative_to(root)).as_posix())
            count += 1
    partial.replace(target)
    return HandIn(target.resolve(), count, target.stat().st_size, images)
