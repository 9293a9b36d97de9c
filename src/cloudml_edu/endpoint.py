"""Endpoints: serve a trained model over HTTP, send it images, delete it.

    ep = Endpoint.deploy(run, workspace=ws, name="digits")
    ep.predict(["new/7.png"])      # [Prediction(label='7', score=0.98, scores={...})]
    ep.delete()

A local endpoint is an MLflow model server (``mlflow models serve``) on
127.0.0.1, started in its own session.  **It outlives the Python process that
deployed it**, until :meth:`Endpoint.delete`: ``cloudml-edu deploy`` and then
``cloudml-edu predict`` work as two commands, and a notebook restart does not
lose the server.  For a server that lives only as long as a block, use the
endpoint as a context manager: ``with Endpoint.deploy(...) as ep: ...`` deletes
it on exit.  Each endpoint is a JSON record in ``workspace.endpoints_dir``; its
server log sits next to it (``<name>.log``).
"""

from __future__ import annotations

import builtins
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ValidationError

from cloudml_edu._checks import check_number
from cloudml_edu.backends.local.serving import (
    HOST,
    Images,
    Prediction,
    ProcessRef,
    abort,
    as_list,
    check_paths,
    free_port,
    live_processes,
    parse_response,
    post_json,
    request_body,
    server_processes,
    start_server,
    stop,
    wait_ready,
)
from cloudml_edu.errors import ConfigError, NotFoundError, ServiceError
from cloudml_edu.run import TrainingRun
from cloudml_edu.workspace import resolve_workspace

if TYPE_CHECKING:
    import requests

    from cloudml_edu.workspace import Workspace

__all__ = ["Endpoint", "EndpointRecord", "EndpointState", "Prediction", "model_uri_of"]

EndpointState = Literal["live", "dead"]

# The names Azure ML online endpoints and Databricks serving endpoints both accept, lower case.
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class EndpointRecord(BaseModel):
    """What the registry keeps about one local endpoint (``<endpoints_dir>/<name>.json``)."""

    name: str
    model_uri: str
    run_id: str | None
    pid: int
    pgid: int
    port: int
    url: str
    created: datetime
    log_path: str
    processes: list[ProcessRef]


def model_uri_of(model: TrainingRun | str | os.PathLike[str]) -> tuple[str, str | None]:
    """The MLflow model URI and run id of a training run, run id, model URI or model folder."""
    if isinstance(model, TrainingRun):
        if not model.model:
            raise ConfigError(
                f"run {model.id} has no model (status {model.status}); deploy a completed run"
            )
        return model_uri_of(model.model)[0], model.id
    text = str(model)
    if _RUN_ID.fullmatch(text):
        return f"runs:/{text}/model", text
    if text.startswith("runs:/"):
        return text, text.split("/")[1] or None
    if ":/" in text:
        return text, None
    if (Path(text) / "MLmodel").is_file():
        return str(Path(text).resolve()), None
    raise ConfigError(
        f"{text!r} is not a run id, a model URI (runs:/<run id>/model, models:/<name>/<version>) "
        "or a folder with an MLmodel file; list runs with `cloudml-edu runs`"
    )


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"invalid endpoint name {name!r}: use 3-32 lower-case letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen (e.g. 'digits-svc')"
        )


class Endpoint:
    """A deployed model: :meth:`deploy`, :meth:`get` or :meth:`list` one, then :meth:`predict`."""

    def __init__(self, record: EndpointRecord, *, workspace: Workspace) -> None:
        self.record = record
        self.workspace = workspace
        self._session: requests.Session | None = None

    # ---- create, find ---------------------------------------------------------------------

    @classmethod
    def deploy(
        cls,
        model: TrainingRun | str | os.PathLike[str],
        *,
        workspace: Workspace | None = None,
        name: str,
        replace: bool = False,
        timeout: float = 120.0,
        progress: bool | None = None,
    ) -> Endpoint:
        """Serve ``model`` (a run, run id, model URI or model folder); return once it answers.

        The server keeps running after this process exits, until :meth:`delete`.
        A live endpoint called ``name`` is an error unless ``replace=True``.
        Raises ServiceError if the server exits while starting, TimeoutError
        after ``timeout`` seconds (the server is stopped in both cases).
        """
        ws = resolve_workspace(workspace)
        _check_name(name)
        model_uri, run_id = model_uri_of(model)
        if _record_path(ws, name).is_file():
            old = cls.get(ws, name)
            if old.state == "live" and not replace:
                raise ConfigError(
                    f"endpoint {name!r} is already running at {old.url} (model {old.model_uri}); "
                    f"delete it (`cloudml-edu endpoint delete {name}`), pick another name, "
                    "or deploy with replace=True (--replace)"
                )
            old.delete()
        run_store = model.tracking_uri if isinstance(model, TrainingRun) else ""
        port = free_port()
        url = f"http://{HOST}:{port}"
        log_path = ws.endpoints_dir / f"{name}.log"
        process = start_server(
            model_uri,
            port=port,
            tracking_uri=run_store or ws.tracking_uri,
            log_path=log_path,
            cwd=ws.root,
        )
        try:
            wait_ready(
                process,
                url,
                timeout=timeout,
                log_path=log_path,
                description=f"starting endpoint {name} on {url}",
                progress=progress,
            )
            record = EndpointRecord(
                name=name,
                model_uri=model_uri,
                run_id=run_id,
                pid=process.pid,
                pgid=process.pid,  # the leader of its own session
                port=port,
                url=url,
                created=datetime.now(UTC),
                log_path=str(log_path),
                processes=server_processes(process.pid),
            )
            _save(ws, record)
        except BaseException:  # Ctrl-C included: never leave an unrecorded server behind
            abort(process)
            raise
        return cls(record, workspace=ws)

    @classmethod
    def get(cls, workspace: Workspace | None, name: str) -> Endpoint:
        """The endpoint called ``name``; NotFoundError lists the names there are."""
        ws = resolve_workspace(workspace)
        _check_name(name)
        path = _record_path(ws, name)
        if not path.is_file():
            names = ", ".join(_names(ws)) or "none"
            raise NotFoundError(
                f"no endpoint {name!r} in {ws.endpoints_dir} (endpoints: {names}); "
                "deploy one with `cloudml-edu deploy RUN_ID --name NAME`"
            )
        try:
            record = EndpointRecord.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            why = (
                "; ".join(e["msg"] for e in exc.errors())
                if isinstance(exc, ValidationError)
                else exc
            )
            raise ConfigError(
                f"the endpoint record {path} is unreadable ({why}); "
                "delete the file and deploy again"
            ) from exc
        return cls(record, workspace=ws)

    @classmethod
    def list(cls, workspace: Workspace | None = None) -> builtins.list[Endpoint]:
        """Every endpoint in the workspace's registry, by name; see each one's :attr:`state`."""
        ws = resolve_workspace(workspace)
        return [cls.get(ws, name) for name in _names(ws)]

    # ---- what it is -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The endpoint's name, unique in its workspace."""
        return self.record.name

    @property
    def url(self) -> str:
        """The server's base URL (``/invocations``, ``/ping``, ``/version`` below it)."""
        return self.record.url

    @property
    def model_uri(self) -> str:
        """The MLflow model URI it serves."""
        return self.record.model_uri

    @property
    def log_path(self) -> Path:
        """The server's log: startup messages and one line per request."""
        return Path(self.record.log_path)

    @property
    def state(self) -> EndpointState:
        """``"live"`` while its server process runs, ``"dead"`` once it has stopped."""
        return "live" if live_processes(self.record.processes) else "dead"

    def __repr__(self) -> str:
        return f"Endpoint(name={self.name!r}, url={self.url!r}, model={self.model_uri!r})"

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import endpoint_html

        return endpoint_html(self)

    # ---- predict ----------------------------------------------------------------------------

    def predict(self, images: Images, *, timeout: float = 60.0) -> builtins.list[Prediction]:
        """Classify image files (paths), encoded bytes or PIL images: one or a list, in one request.

        Missing files raise DatasetError before anything is sent; the server's
        errors raise ServiceError with its message.
        """
        items = as_list(images)
        if not items:
            return []
        payload = post_json(
            self._http(),
            f"{self.url}/invocations",
            request_body(items),
            timeout=timeout,
            name=self.name,
            when_down=(
                f"its server has stopped (log: {self.log_path}); redeploy it with "
                f"`cloudml-edu deploy {self.model_uri} --name {self.name} --replace`"
            ),
            when_failed=f"the server's log has the details: {self.log_path}",
        )
        predictions = parse_response(payload)
        if len(predictions) != len(items):
            raise ServiceError(
                f"endpoint {self.name!r} returned {len(predictions)} predictions for "
                f"{len(items)} images; check that it serves a cloudml-edu model"
            )
        return predictions

    def predict_batch(
        self,
        images: Images,
        *,
        batch_size: int = 32,
        timeout: float = 60.0,
        progress: bool | None = None,
    ) -> builtins.list[Prediction]:
        """Like :meth:`predict` for many images: ``batch_size`` per request, with a progress bar."""
        from cloudml_edu._progress import track

        check_number(batch_size, name="batch_size", integer=True, low=1)
        check_number(timeout, name="timeout", low=0)
        items = as_list(images)
        check_paths(items)
        if progress is None and len(items) <= batch_size:
            progress = False  # one request: no bar
        predictions: builtins.list[Prediction] = []
        with track(
            f"predicting with {self.name}", total=len(items), unit="images", progress=progress
        ) as bar:
            for start in range(0, len(items), batch_size):
                chunk = items[start : start + batch_size]
                predictions += self.predict(chunk, timeout=timeout)
                bar.advance(len(chunk))
        return predictions

    def _http(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    # ---- delete -----------------------------------------------------------------------------

    def delete(self, *, timeout: float = 10.0) -> None:
        """Stop the server (terminate, then kill after ``timeout``) and remove the record.

        Succeeds when the server or the record is already gone.
        """
        if self._session is not None:
            self._session.close()
            self._session = None
        stop(live_processes(self.record.processes), timeout=timeout)
        _record_path(self.workspace, self.name).unlink(missing_ok=True)

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.delete()


# ---- the registry: one JSON file per endpoint ---------------------------------------------


def _record_path(ws: Workspace, name: str) -> Path:
    return ws.endpoints_dir / f"{name}.json"


def _names(ws: Workspace) -> list[str]:
    return sorted(path.stem for path in ws.endpoints_dir.glob("*.json"))


def _save(ws: Workspace, record: EndpointRecord) -> None:
    path = _record_path(ws, record.name)
    partial = path.with_suffix(".json.partial")
    partial.write_text(record.model_dump_json(indent=2))
    partial.replace(path)
