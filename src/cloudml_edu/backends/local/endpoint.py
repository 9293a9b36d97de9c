"""The local endpoint provider: one MLflow model server on 127.0.0.1 per endpoint.

A server runs in its own session (see :mod:`cloudml_edu.backends.local.server`)
and outlives the process that deployed it; the record keeps its pid, port, log
and processes (with start times, so a reused pid is never taken for it) in
``EndpointRecord.details``.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ValidationError

from cloudml_edu._polling import Following, Poller
from cloudml_edu.backends.local.server import (
    HOST,
    ProcessRef,
    abort,
    free_port,
    live_processes,
    log_tail,
    server_processes,
    start_server,
    stop,
)
from cloudml_edu.errors import ConfigError, ServiceError
from cloudml_edu.records.endpoint import EndpointRecord, EndpointState
from cloudml_edu.scoring import envelope, post_json

if TYPE_CHECKING:
    import requests

    from cloudml_edu.records.run import RunRecord
    from cloudml_edu.workspace import Workspace

__all__ = ["LocalDetails", "LocalEndpointProvider"]


class LocalDetails(BaseModel):
    """What only a local endpoint records: its server process, port and log."""

    pid: int
    port: int
    log_path: str
    processes: list[ProcessRef] = []  # the server and its uvicorn child, once it answered


class LocalEndpointProvider(Following[EndpointRecord]):
    """Serves a model with ``mlflow models serve``; the server answers at ``http://127.0.0.1:<port>``.

    Also how a deploy's poller follows a server this instance started until ``/ping`` answers.
    """

    target: ClassVar[str] = "local"
    terminal: tuple[str, ...] = ("live",)
    poll_interval: float = 0.1
    poll_max_interval: float = 0.5

    def __init__(self, workspace: Workspace, *, session: requests.Session | None = None) -> None:
        self.workspace = workspace
        self._session = session
        self._owns_session = session is None
        self._started: dict[str, subprocess.Popen[bytes]] = {}  # servers this instance started

    def begin_deploy(
        self, *, name: str, model_uri: str, run: RunRecord | None, progress: bool | None
    ) -> Poller[EndpointRecord]:
        """Start the server and return at once; the poller ends when ``/ping`` answers 200."""
        ws = self.workspace
        port = free_port()
        url = f"http://{HOST}:{port}"
        log_path = ws.endpoints_dir / f"{name}.log"
        process = start_server(
            model_uri,
            port=port,
            tracking_uri=(run.tracking_uri if run is not None else "") or ws.tracking_uri,
            log_path=log_path,
            cwd=ws.root,
        )
        self._started[name] = process
        details = LocalDetails(pid=process.pid, port=port, log_path=str(log_path))
        record = EndpointRecord(
            name=name,
            target=self.target,
            model_uri=model_uri,
            run_id=run.id if run is not None else None,
            url=url,
            owner=ws.owner,
            created=datetime.now(UTC),
            details=details.model_dump(mode="json"),
        )
        return Poller(record, self, progress=progress)

    def status_of(self, record: EndpointRecord, /) -> str:
        return "live" if _details(record).processes else "creating"

    def describe(self, record: EndpointRecord, elapsed: float, /) -> str:
        log_path = _details(record).log_path
        return f"starting endpoint {record.name} on {record.url} ({elapsed:.0f} s, log: {log_path})"

    def refresh(self, record: EndpointRecord, /) -> EndpointRecord:
        """The record with the server's processes once ``/ping`` answers; ServiceError if it exited."""
        import requests

        details = _details(record)
        process = self._started.get(record.name)
        if process is None:
            raise ServiceError(
                f"endpoint {record.name!r} was not started by this provider; "
                "find it with Endpoint.get and read its state"
            )
        code = process.poll()
        if code is not None:
            log = Path(details.log_path)
            raise ServiceError(
                f"the model server exited (code {code}) before it was ready; last lines of "
                f"{log}:\n{log_tail(log)}\ncheck the model URI and that the run finished with "
                "a model"
            )
        try:
            ready = self._http().get(f"{record.url}/ping", timeout=1.0).status_code == 200
        except requests.RequestException:
            ready = False
        if not ready:
            return record
        details.processes = server_processes(process.pid)
        return record.model_copy(update={"details": details.model_dump(mode="json")})

    def state(self, record: EndpointRecord) -> EndpointState:
        """``"live"`` while its server process runs, ``"dead"`` once it has stopped."""
        return "live" if live_processes(_details(record).processes) else "dead"

    def invoke(self, record: EndpointRecord, images: list[str], *, timeout: float) -> Any:
        """POST the images as ``dataframe_split`` to ``/invocations``."""
        log = _details(record).log_path
        return post_json(
            self._http(),
            f"{record.url}/invocations",
            envelope([[image] for image in images], target=self.target),
            timeout=timeout,
            name=record.name,
            when_down=(
                f"its server has stopped (log: {log}); redeploy it with "
                f"`cloudml-edu deploy {record.model_uri} --name {record.name} --replace`"
            ),
            when_failed=f"the server's log has the details: {log}",
        )

    def delete(self, record: EndpointRecord, *, timeout: float) -> None:
        """Stop the server (terminate, then kill after ``timeout``); fine when it is gone."""
        started = self._started.pop(record.name, None)
        if started is not None:  # ours: also reap it and sweep its session
            abort(started, timeout=timeout)
        else:
            stop(live_processes(_details(record).processes), timeout=timeout)
        if self._owns_session and self._session is not None:
            self._session.close()
            self._session = None

    def _http(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session


def _details(record: EndpointRecord) -> LocalDetails:
    try:
        return LocalDetails.model_validate(record.details)
    except ValidationError as exc:
        raise ConfigError(
            f"the record of endpoint {record.name!r} has no local server details (pid, port, "
            "log); it was written by another version of cloudml-edu: delete it "
            f"(`cloudml-edu endpoint delete {record.name}`) and deploy again"
        ) from exc


if TYPE_CHECKING:  # mypy checks that the class keeps to the protocol
    from cloudml_edu.backends.base import EndpointProvider

    _conforms: type[EndpointProvider] = LocalEndpointProvider
