"""What every backend and endpoint provider implements; the endpoint records are re-exported from
:mod:`cloudml_edu.records` and ``TrainOptions`` from :mod:`cloudml_edu.options`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from cloudml_edu.backends.template import TrainingBackend
from cloudml_edu.options import TrainOptions
from cloudml_edu.records.endpoint import Billable, EndpointRecord, EndpointState

if TYPE_CHECKING:
    import requests

    from cloudml_edu._polling import Poller
    from cloudml_edu.records.run import RunRecord
    from cloudml_edu.workspace import Workspace

__all__ = [
    "Backend",
    "Billable",
    "EndpointProvider",
    "EndpointRecord",
    "EndpointState",
    "TrainOptions",
]

#: A way to train (the local designer/sdk/automl, or a cloud adapter): every one fills in
#: :class:`~cloudml_edu.backends.template.TrainingBackend`.  Named by
#: a target's ``trainers`` (:class:`cloudml_edu.targets.Target`); a run found later by id (another process, a
#: notebook restart) is refreshed and followed by a new instance of the same backend.
Backend = TrainingBackend


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
        self, *, name: str, model_uri: str, run: RunRecord | None, progress: bool | None
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
