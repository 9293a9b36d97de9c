"""What ``cloudml-edu cleanup`` finds and removes on the toy cloud: its live endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudml_edu.backends.base import Billable
from cloudml_edu.endpoint import Endpoint

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace


def billable(ws: Workspace) -> list[Billable]:
    """Every live toy endpoint, at the ``[toy] endpoint_hourly_usd`` rate."""
    rate = ws.config.section("toy").endpoint_hourly_usd
    return [
        Billable(target="toy", kind="endpoint", name=ep.name, hourly_usd=rate)
        for ep in Endpoint.list(ws)
        if ep.target == "toy" and ep.state == "live"
    ]


def remove(ws: Workspace, item: Billable, *, timeout: float) -> None:
    """Delete the endpoint ``item`` names (record too)."""
    Endpoint.get(ws, item.name).delete(timeout=timeout)
