"""What this workspace folder has seen exist in Azure ML, so a second ``fit`` need not ask again.

``<workspace>/azureml/known.json`` holds, per Azure ML workspace (ARM id), the
data asset versions, registered component versions and compute clusters that
a ``fit`` found or created.  The rule for trusting it:

* data asset and component *versions* are immutable in Azure ML (a version is
  never changed in place), so once seen they are trusted;
* a cluster can be deleted (in the studio, or by ``cloudml-edu cleanup``, which
  forgets it here); if a submission that relied on this file is refused (400 or
  404), the file's entries for that workspace are dropped and the submission is
  made once more, asking the service for everything.

Writes replace the file atomically; two fits at once can lose an entry, which
only costs one lookup next time.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cloudml_edu.backends.azureml.connection import scope_of

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["Kind", "forget", "is_known", "remember"]

Kind = Literal["data", "component", "compute", "environment"]
FILE = Path("azureml") / "known.json"


def _path(ws: Workspace) -> Path:
    return ws.root / FILE


def _load(ws: Workspace) -> dict[str, Any]:
    try:
        data = json.loads(_path(ws).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: ask the service
    return data if isinstance(data, dict) else {}


def _entries(ws: Workspace, kind: Kind) -> list[str]:
    found = _load(ws).get(scope_of(ws).arm_id, {}).get(kind, [])
    return [str(x) for x in found] if isinstance(found, list) else []


def is_known(ws: Workspace, kind: Kind, key: str) -> bool:
    """Whether ``key`` (``name:version``, or a cluster name) was seen in this Azure ML workspace."""
    return key in _entries(ws, kind)


def remember(ws: Workspace, kind: Kind, key: str) -> None:
    """Record that ``key`` exists (a failure to write is ignored: it only costs a lookup)."""
    if is_known(ws, kind, key):
        return
    data = _load(ws)
    section = data.setdefault(scope_of(ws).arm_id, {})
    section[kind] = sorted({*_entries(ws, kind), key})
    _write(ws, data)


def forget(ws: Workspace, kind: Kind | None = None, key: str | None = None) -> bool:
    """Drop one entry, one kind, or everything known of this Azure ML workspace.

    Returns whether anything was dropped.
    """
    data = _load(ws)
    section = data.get(scope_of(ws).arm_id)
    if not section:
        return False
    if kind is None:
        del data[scope_of(ws).arm_id]
    elif key is None:
        if not section.pop(kind, None):
            return False
    else:
        entries = section.get(kind, [])
        if key not in entries:
            return False
        section[kind] = [e for e in entries if e != key]
    _write(ws, data)
    return True


def _write(ws: Workspace, data: dict[str, Any]) -> None:
    path = _path(ws)
    staged: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".known-", dir=path.parent)
        staged = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        staged.replace(path)
    except OSError:  # a read-only workspace still trains; it only asks the service each time
        if staged is not None:
            staged.unlink(missing_ok=True)
