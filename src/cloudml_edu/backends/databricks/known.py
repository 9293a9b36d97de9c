"""What this workspace knows a Databricks host has: files it uploaded, the signed-in user
(the Databricks twin of ``backends/azureml/known.py``).

Kept in ``<workspace root>/databricks-memo.json`` per host, so a second fit of the
same data sends no feature table, SQL or task file again, and does not ask who
the user is.  Losing the file only costs those requests once more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.backends.databricks.connection import databricks_config

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["has", "recall", "remember"]


def _path(ws: Workspace) -> Path:
    return ws.root / "databricks-memo.json"


def _all(ws: Workspace) -> dict[str, Any]:
    path = _path(ws)
    found: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    return found


def recall(ws: Workspace) -> dict[str, Any]:
    """This host's entry: ``uploaded`` (keys and paths) and ``user``."""
    entry: dict[str, Any] = _all(ws).get(databricks_config(ws).host or "", {})
    return entry


def has(ws: Workspace, key: str) -> bool:
    """Whether ``key`` (a blob key or workspace path) was uploaded to this host before."""
    return key in recall(ws).get("uploaded", [])


def remember(ws: Workspace, *, uploaded: str | None = None, user: str | None = None) -> None:
    """Note an upload or the signed-in user for this host."""
    known = _all(ws)
    entry = known.setdefault(databricks_config(ws).host or "", {})
    if uploaded is not None:
        entry.setdefault("uploaded", []).append(uploaded)
    if user is not None:
        entry["user"] = user
    _path(ws).write_text(json.dumps(known, indent=1))
