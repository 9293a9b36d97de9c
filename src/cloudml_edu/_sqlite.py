"""A damaged SQLite store (``mlflow.db``, ``catalog.db``) found before it is used.

A truncated or overwritten file, or one with a torn page, would otherwise surface
deep inside MLflow or the catalog as an unexpected ``DatabaseError``; here it is a
:class:`~cloudml_edu.errors.StoreDamagedError` naming the file and the command that
rebuilds it (``cloudml-edu repair``).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from cloudml_edu.errors import StoreDamagedError

__all__ = ["REPAIR_COMMAND", "check_sqlite", "damaged_store"]

REPAIR_COMMAND = "cloudml-edu repair"


def damaged_store(path: Path, detail: str, *, rebuilt_from: str) -> StoreDamagedError:
    """The error for the damaged SQLite file ``path``; ``rebuilt_from`` says what
    ``cloudml-edu repair`` rebuilds it from."""
    return StoreDamagedError(
        f"{path} is damaged ({detail}), so it cannot be read. Rebuild it from "
        f"{rebuilt_from}: `{REPAIR_COMMAND}` (or repair_workspace(ws) from "
        "cloudml_edu.repair); the damaged file is kept next to it as a copy"
    )


def check_sqlite(path: Path, *, rebuilt_from: str) -> None:
    """Raise :class:`StoreDamagedError` unless ``path`` (if it exists) is a readable
    SQLite database whose pages pass SQLite's ``quick_check``."""
    if not path.is_file() or path.stat().st_size == 0:
        return  # not made yet: created on first use
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            found = db.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return  # another process is writing it: not damage
        raise damaged_store(path, str(exc), rebuilt_from=rebuilt_from) from exc
    except sqlite3.DatabaseError as exc:
        raise damaged_store(path, str(exc), rebuilt_from=rebuilt_from) from exc
    if found is None or found[0] != "ok":
        detail = found[0] if found else "no answer to an integrity check"
        raise damaged_store(path, str(detail), rebuilt_from=rebuilt_from)
