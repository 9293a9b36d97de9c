"""The ``[toy]`` table of cloudml.toml."""

from pydantic import BaseModel, ConfigDict, Field


class ToyConfig(BaseModel):
    """Settings of the toy cloud: its node size and what an endpoint costs an hour."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node_size: str = "Standard_F4s_v2"
    endpoint_hourly_usd: float = Field(default=0.05, ge=0)
