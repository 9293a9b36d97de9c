"""An endpoint's record, and what ``cleanup`` lists: the things a target bills for."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cloudml_edu.targets import TargetName

__all__ = ["Billable", "EndpointRecord", "EndpointState"]

EndpointState = Literal["creating", "live", "failed", "dead"]


class EndpointRecord(BaseModel):
    """What the workspace keeps about one endpoint, whatever serves it.

    Common fields here; what only one target needs (a local server's pid and
    port, an Azure ML deployment name, a Databricks served-entity name) sits in
    ``details``.  Never holds a key or token: providers fetch those when asked.
    """

    name: str
    target: TargetName = "local"
    model_uri: str
    run_id: str | None = None
    url: str
    owner: str = ""
    created: datetime
    hourly_usd: float = 0.0
    details: dict[str, Any] = Field(default_factory=dict)


class Billable(BaseModel):
    """Something in a cloud that an owner created and that costs (or can cost) money.

    Listed by ``cloudml-edu cleanup`` before it removes them.
    """

    target: TargetName = Field(description="The cloud target it lives in")
    kind: str = Field(description="endpoint, cluster...")
    name: str
    hourly_usd: float = Field(default=0.0, description="What it costs per hour right now")
    detail: str = ""
