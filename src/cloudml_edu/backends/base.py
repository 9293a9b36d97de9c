"""What every backend and endpoint provider implements (``TrainOptions`` re-exported from :mod:`cloudml_edu.options`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, Field

from cloudml_edu.options import TrainOptions
from cloudml_edu.targets import TargetName

if TYPE_CHECKING:
    import requests

    from cloudml_edu._polling import Poller
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.run import Plan, TrainingRun
    from cloudml_edu.workspace import Workspace

__all__ = [
    "Backend",
    "Billable",
    "EndpointProvider",
    "EndpointRecord",
    "EndpointState",
    "TrainOptions",
]


class Backend(Protocol):
    """A way to train: the local designer/sdk/automl, or a cloud adapter.

    Named by a target's ``trainers`` (:class:`cloudml_edu.targets.Target`).  Long work
    returns a :class:`~cloudml_edu._polling.Poller` owned by the backend that
    started it; a run found later by id (another process, a notebook restart)
    is refreshed by a new instance of the same backend through :meth:`refresh`.
    """

    name: ClassVar[str]
    target: ClassVar[str]

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None: ...

    def plan(self, dataset: Dataset) -> Plan:
        """What ``fit`` would do and cost, without doing it (no network)."""
        ...

    def begin_fit(self, dataset: Dataset) -> Poller[TrainingRun]:
        """Start training and return at once; the run is already in the workspace's run store."""
        ...

    def refresh(self, run: TrainingRun) -> TrainingRun:
        """Ask the process or service for the run's state; update ``run``, save it, return it."""
        ...

    def cancel(self, run: TrainingRun) -> None:
        """Ask the process or service to stop the run (a no-op once it has ended)."""
        ...


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

    target: TargetName
    kind: str = Field(description="endpoint, cluster...")
    name: str
    hourly_usd: float = Field(default=0.0, description="What it costs per hour right now")
    detail: str = ""


class EndpointProvider(Protocol):
    """Serves models on one target: ``local`` (MLflow model server), ``azureml``, ``databricks``.

    Named by a target's ``endpoint_provider`` (:class:`cloudml_edu.targets.Target`); the
    :class:`cloudml_edu.Endpoint` facade keeps the records and calls these.
    ``session`` is the HTTP session for scoring requests (tests inject one).
    """

    target: ClassVar[str]

    def __init__(
        self, workspace: Workspace, *, session: requests.Session | None = None
    ) -> None: ...

    def begin_deploy(
        self, *, name: str, model_uri: str, run: TrainingRun | None, progress: bool | None
    ) -> Poller[EndpointRecord]:
        """Create (or update) the endpoint serving ``model_uri``; the poller ends when it answers."""
        ...

    def state(self, record: EndpointRecord) -> EndpointState:
        """The endpoint's state now, asked of the process or service."""
        ...

    def invoke(self, record: EndpointRecord, images: list[str], *, timeout: float) -> Any:
        """POST base64-encoded images in this target's envelope; return the parsed JSON answer."""
        ...

    def delete(self, record: EndpointRecord, *, timeout: float) -> None:
        """Remove what serves the endpoint; succeeds when it is already gone."""
        ...
