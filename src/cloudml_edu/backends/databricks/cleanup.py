"""What ``cloudml-edu cleanup`` finds and removes in Databricks: the owner's serving endpoints.

Found by the ``cloudml-owner`` tag every serving endpoint the library creates
carries. Jobs are one-time runs on job clusters that stop by themselves, and
tables cost nothing while idle, so endpoints are all there is to remove.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudml_edu.backends.base import Billable
from cloudml_edu.backends.databricks.connection import (
    client_for,
    databricks_config,
    translate_error,
)
from cloudml_edu.backends.databricks.endpoint import OWNER_TAG, delete_endpoint

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["billable", "remove"]


def billable(ws: Workspace) -> list[Billable]:
    """The owner's Model Serving endpoints (they scale to zero, but bill while serving)."""
    try:
        endpoints = list(client_for(ws).serving_endpoints.list())
    except Exception as exc:
        raise translate_error(
            exc, action="list serving endpoints", where=databricks_config(ws).host or ""
        ) from exc
    return [
        Billable(
            target="databricks",
            kind="endpoint",
            name=str(e.name),
            detail="Model Serving, scale to zero",
        )
        for e in endpoints
        if e.name and any(t.key == OWNER_TAG and t.value == ws.owner for t in e.tags or [])
    ]


def remove(ws: Workspace, item: Billable, *, timeout: float) -> None:
    """Delete the serving endpoint ``item`` (fine when it is already gone)."""
    delete_endpoint(ws, item.name)
