"""Endpoints: serve a trained model over HTTP, send it images, delete it.

    ep = Endpoint.deploy(run, workspace=ws, name="digits")
    ep.predict(["new/7.png"])      # [Prediction(label='7', score=0.98, scores={...})]
    ep.delete()

:class:`Endpoint` is the one facade for every target; a provider per target
(``local``: an MLflow model server on 127.0.0.1; ``azureml``, ``databricks``)
does the work, chosen by :func:`cloudml_edu.backends.load_provider`.  The target
defaults to the run's own.  The request format is in :mod:`cloudml_edu.scoring`.

**An endpoint outlives the Python process that deployed it**, until
:meth:`Endpoint.delete`: ``cloudml-edu deploy`` and then ``cloudml-edu predict``
work as two commands, and a notebook restart does not lose it.  For one that
lives only as long as a block, use it as a context manager: ``with
Endpoint.deploy(...) as ep: ...`` deletes it on exit.  Each endpoint, of any
target, is a JSON record in ``workspace.endpoints_dir``.
"""

from __future__ import annotations

import builtins
import logging
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import ValidationError

from cloudml_edu._paths import resolve_under
from cloudml_edu._polling import DEFAULT_TIMEOUT, Poller
from cloudml_edu.backends import load_provider
from cloudml_edu.errors import ConfigError, NotFoundError, ServiceError, TimeoutError
from cloudml_edu.records.endpoint import EndpointRecord, EndpointState
from cloudml_edu.run import TrainingRun
from cloudml_edu.scoring import (
    Images,
    Prediction,
    as_list,
    check_paths,
    encode_image,
    parse_response,
)
from cloudml_edu.targets import LOCAL, STORED, get_target
from cloudml_edu.workspace import resolve_workspace

if TYPE_CHECKING:
    import requests

    from cloudml_edu.backends.base import EndpointProvider
    from cloudml_edu.workspace import Workspace

__all__ = ["Endpoint", "EndpointRecord", "EndpointState", "Prediction", "model_uri_of"]

# The names Azure ML online endpoints and Databricks serving endpoints both accept, lower case.
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
log = logging.getLogger(__name__)

#: Seconds a failed or interrupted deploy may take to remove what it started.
_CLEANUP_TIMEOUT = 60.0


def model_uri_of(model: TrainingRun | str | os.PathLike[str]) -> tuple[str, str | None]:
    """The MLflow model URI and run id of a training run, run id, model URI or model folder."""
    if isinstance(model, TrainingRun):
        return model_uri_of(_completed_model(model))[0], model.id
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


def _completed_model(run: TrainingRun) -> str:
    """The model URI of ``run``; ConfigError unless it completed with a model."""
    if run.status == "Failed":
        raise ConfigError(
            f"run {run.id} ({run.backend}) failed ({run.error or 'no message'}), so it has no "
            "model to deploy; fix the cause, train again and deploy a completed run"
        )
    if run.status != "Completed":
        raise ConfigError(
            f"run {run.id} is still {run.status}; wait for it (run.wait()) and deploy it once "
            "it completed"
        )
    if not run.model:
        raise ConfigError(
            f"run {run.id} has no model (status {run.status}); deploy a completed run"
        )
    return run.model


def _resolve_model(
    ws: Workspace, model: TrainingRun | str | os.PathLike[str]
) -> tuple[str, TrainingRun | None]:
    """The model URI to serve and its run: a run id is looked up, and must have completed."""
    if not isinstance(model, TrainingRun | str | os.PathLike):
        raise ConfigError(
            f"model must be a TrainingRun, a run id, a model URI or a model folder, not "
            f"{type(model).__name__}"
        )
    model_uri, run_id = model_uri_of(model)
    if isinstance(model, TrainingRun):
        return model_uri, model
    if run_id is None:
        return model_uri, None
    run = TrainingRun.get(ws, run_id)  # NotFoundError when the workspace has no such run
    _completed_model(run)
    return model_uri, run


# ---- argument checks: ConfigError naming the argument, before anything starts ------------


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"invalid endpoint name {name!r}: use 3-32 lower-case letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen (e.g. 'digits-svc')"
        )
    return name


def _check_seconds(value: object, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{argument} must be a positive number of seconds, got {value!r}")
    return float(value)


def _check_flag(value: object, argument: str, *, optional: bool = False) -> None:
    if not isinstance(value, bool) and not (optional and value is None):
        allowed = "True, False or None" if optional else "True or False"
        raise ConfigError(f"{argument} must be {allowed}, got {value!r}")


def _check_session(session: object) -> None:
    if session is not None and not callable(getattr(session, "post", None)):
        raise ConfigError(
            f"session must be a requests.Session (or None), got {type(session).__name__}"
        )


class Endpoint:
    """A handle on a deployed model: :meth:`deploy`, :meth:`get` or :meth:`list` one, then
    :meth:`predict`; :meth:`refresh`, :meth:`wait`, :meth:`delete`.

    Its :attr:`state` is the state as last seen (by ``deploy``, ``get`` or
    :meth:`refresh`): reading it, or showing the endpoint in a notebook, sends
    no request.  ``session`` (a ``requests.Session``) carries the scoring
    requests; by default the provider opens its own.  Tests inject one to
    answer without a server.
    """

    def __init__(
        self,
        record: EndpointRecord,
        *,
        workspace: Workspace,
        session: requests.Session | None = None,
        state: EndpointState | None = None,
    ) -> None:
        self.record = record
        self.workspace = workspace
        self._session = session
        self._provider: EndpointProvider | None = None
        self._state = state

    # ---- create, find ---------------------------------------------------------------------

    @classmethod
    def deploy(
        cls,
        model: TrainingRun | str | os.PathLike[str],
        *,
        workspace: Workspace | None = None,
        name: str,
        target: str | None = None,
        replace: bool = False,
        timeout: float | None = None,
        progress: bool | None = None,
        session: requests.Session | None = None,
    ) -> Endpoint:
        """Serve ``model`` (a run, run id, model URI or model folder); return once it answers.

        ``target`` is ``"local"``, ``"azureml"``, ``"databricks"`` (or a target another
        package adds); an explicit one wins, else the run's own target, else
        ``"local"`` (for a model URI or folder).  The endpoint keeps
        running after this process exits, until :meth:`delete`.  A live endpoint
        called ``name`` is an error unless ``replace=True``; so is a deploy of the
        same name already under way.  A run id that is not in the workspace raises
        NotFoundError, a failed run ConfigError, both before anything starts.
        Raises ServiceError if the endpoint fails while starting, TimeoutError
        after ``timeout`` seconds (default 120 locally, an hour in the cloud); what
        was started is removed in both cases.
        """
        _check_name(name)
        if target is not None:
            get_target(target)
        limit = None if timeout is None else _check_seconds(timeout, "timeout")
        _check_flag(replace, "replace")
        _check_flag(progress, "progress", optional=True)
        _check_session(session)
        ws = resolve_workspace(workspace)
        model_uri, run = _resolve_model(ws, model)
        chosen = target or (run.target if run is not None else LOCAL)
        provider = load_provider(chosen, ws, session=session)
        if limit is None:
            limit = get_target(chosen).deploy_timeout or DEFAULT_TIMEOUT
        with _deploying(ws, name):
            _clear_name(ws, name, replace=replace, session=session)
            poller = provider.begin_deploy(
                name=name, model_uri=model_uri, run=run, progress=progress
            )
            try:
                record = poller.result(timeout=limit)
                _save(ws, record)
            except TimeoutError as exc:
                provider.delete(poller.value, timeout=_CLEANUP_TIMEOUT)
                raise TimeoutError(
                    f"endpoint {name!r} ({chosen}, {poller.value.url}) was not ready after "
                    f"{limit:g} s and was stopped; deploy again with a longer timeout "
                    "(timeout=, --timeout)"
                ) from exc
            except BaseException:  # Ctrl-C included: never leave an unrecorded endpoint behind
                provider.delete(poller.value, timeout=_CLEANUP_TIMEOUT)
                raise
        endpoint = cls(record, workspace=ws, session=session, state="live")
        endpoint._provider = provider
        return endpoint

    @classmethod
    def get(
        cls,
        workspace: Workspace | None,
        name: str,
        *,
        session: requests.Session | None = None,
    ) -> Endpoint:
        """The endpoint called ``name``, its state asked once; NotFoundError lists the names there are."""
        _check_name(name)
        _check_session(session)
        ws = resolve_workspace(workspace)
        path = _record_path(ws, name)
        if not path.is_file():
            names = ", ".join(_names(ws)) or "none"
            raise NotFoundError(
                f"no endpoint {name!r} in {ws.endpoints_dir} (endpoints: {names}); "
                "deploy one with `cloudml-edu deploy RUN_ID --name NAME`"
            )
        try:
            record = EndpointRecord.model_validate_json(path.read_bytes(), context=STORED)
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
        return cls(record, workspace=ws, session=session).refresh()

    @classmethod
    def list(
        cls,
        workspace: Workspace | None = None,
        *,
        session: requests.Session | None = None,
    ) -> builtins.list[Endpoint]:
        """Every endpoint in the workspace's registry, by name; see each one's :attr:`state`.

        An unreadable record (hand-edited, or named against the naming rule) is skipped with
        a warning naming it: one bad file never hides the others.
        """
        ws = resolve_workspace(workspace)
        found = []
        for name in _names(ws):
            try:
                found.append(cls.get(ws, name, session=session))
            except ConfigError as exc:
                log.warning("skipping the endpoint record %s.json: %s", name, exc)
        return found

    # ---- what it is -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The endpoint's name, unique in its workspace."""
        return self.record.name

    @property
    def target(self) -> str:
        """Where it runs: a target's name (``"local"``, ``"azureml"``, ``"databricks"``...)."""
        return self.record.target

    @property
    def url(self) -> str:
        """Its base URL (local: ``/invocations``, ``/ping``, ``/version`` below it)."""
        return self.record.url

    @property
    def model_uri(self) -> str:
        """The MLflow model URI it serves."""
        return self.record.model_uri

    @property
    def state(self) -> EndpointState | None:
        """``"creating"``, ``"live"``, ``"failed"`` or ``"dead"`` as last seen (None: not yet
        asked); :meth:`refresh` asks the process or service again."""
        return self._state

    def refresh(self) -> Endpoint:
        """Ask the process or service for the endpoint's state now; return this endpoint."""
        self._state = self._provider_for().state(self.record)
        return self

    def wait(self, *, timeout: float = DEFAULT_TIMEOUT) -> Endpoint:
        """Block until the endpoint is no longer ``creating``; ServiceError unless it is live.

        Polls with its provider's own intervals (those a deploy's poller uses);
        TimeoutError past ``timeout`` seconds.
        """
        seconds = _check_seconds(timeout, "timeout")
        return Poller(self, _FollowEndpoint(self._provider_for())).result(timeout=seconds)

    def __repr__(self) -> str:
        return (
            f"Endpoint(name={self.name!r}, target={self.target!r}, url={self.url!r}, "
            f"model={self.model_uri!r})"
        )

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import endpoint_html

        return endpoint_html(self)

    # ---- predict ----------------------------------------------------------------------------

    def predict(self, images: Images, *, timeout: float = 60.0) -> builtins.list[Prediction]:
        """Classify image files (paths), encoded bytes or PIL images: one or a list, in one request.

        Missing or unreadable files raise DatasetError (``bad_files`` names them)
        before anything is sent; the endpoint's errors raise ServiceError with its
        message.
        """
        seconds = _check_seconds(timeout, "timeout")
        items = as_list(images)
        if not items:
            return []
        check_paths(items)
        encoded = [encode_image(image) for image in items]
        payload = self._provider_for().invoke(self.record, encoded, timeout=seconds)
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

        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(
                f"batch_size must be a whole number of at least 1, got {batch_size!r}"
            )
        _check_seconds(timeout, "timeout")
        _check_flag(progress, "progress", optional=True)
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

    def _provider_for(self) -> EndpointProvider:
        if self._provider is None:
            self._provider = load_provider(
                self.record.target, self.workspace, session=self._session
            )
        return self._provider

    # ---- delete -----------------------------------------------------------------------------

    def delete(self, *, timeout: float = 60.0) -> None:
        """Remove what serves the endpoint (waiting at most ``timeout`` s) and forget it.

        Succeeds when the endpoint or its record is already gone.
        """
        self._provider_for().delete(self.record, timeout=_check_seconds(timeout, "timeout"))
        _record_path(self.workspace, self.name).unlink(missing_ok=True)
        self._state = "dead"

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.delete()


class _FollowEndpoint:
    """How :meth:`Endpoint.wait` follows a handle: its provider's intervals, its state."""

    terminal = frozenset({"live", "failed", "dead"})
    cancellable = False
    cancel_on_interrupt = False

    def __init__(self, provider: EndpointProvider) -> None:
        self.poll_interval: float = getattr(provider, "poll_interval", 0.5)
        self.poll_max_interval: float = getattr(provider, "poll_max_interval", 10.0)

    def refresh(self, endpoint: Endpoint, /) -> Endpoint:
        return endpoint.refresh()

    def status_of(self, endpoint: Endpoint, /) -> str:
        return str(endpoint.state)

    def describe(self, endpoint: Endpoint, elapsed: float, /) -> str:
        return f"endpoint {endpoint.name} ({endpoint.target}) {endpoint.state}, {elapsed:.0f} s"

    def finish(self, endpoint: Endpoint, /) -> Endpoint:
        if endpoint.state != "live":
            raise ServiceError(
                f"endpoint {endpoint.name!r} ({endpoint.target}) is {endpoint.state}; see its "
                f"logs, then deploy it again (`cloudml-edu deploy ... --name {endpoint.name} "
                "--replace`)"
            )
        return endpoint

    def cancel(self, endpoint: Endpoint, /) -> None:
        """A deployment is not cancelled from a wait."""


# ---- the registry: one JSON file per endpoint, whatever its target -------------------------


def _record_path(ws: Workspace, name: str) -> Path:
    """The record file of endpoint ``name``, inside the endpoints folder (a name read from a
    record that would lead elsewhere raises UnsafePathError)."""
    return resolve_under(ws.endpoints_dir, f"{name}.json", source=f"endpoint record {name!r}")


def _names(ws: Workspace) -> list[str]:
    return sorted(path.stem for path in ws.endpoints_dir.glob("*.json"))


def _save(ws: Workspace, record: EndpointRecord) -> None:
    path = _record_path(ws, record.name)
    partial = path.with_suffix(".json.partial")
    partial.write_text(record.model_dump_json(indent=2))
    partial.replace(path)


@contextmanager
def _deploying(ws: Workspace, name: str) -> Iterator[None]:
    """Hold the exclusive lock on ``<name>.lock`` while ``name`` is being deployed; never wait.

    The operating system lets go of it when the process ends, however it ends.
    """
    from cloudml_edu._locks import file_lock

    lock = ws.endpoints_dir / f"{name}.lock"
    with ExitStack() as held:
        try:
            held.enter_context(file_lock(lock, timeout=0))
        except TimeoutError:
            raise ConfigError(
                f"endpoint {name!r} is being deployed by another call right now (it holds "
                f"{lock}); wait for it to finish, or pick another name"
            ) from None
        yield


def _clear_name(
    ws: Workspace, name: str, *, replace: bool, session: requests.Session | None
) -> None:
    """Make room for ``name``: refuse a live endpoint unless ``replace``, delete a dead one."""
    if not _record_path(ws, name).is_file():
        return
    old = Endpoint.get(ws, name, session=session)
    if old.state in ("live", "creating") and not replace:
        raise ConfigError(
            f"endpoint {name!r} is already running at {old.url} (model {old.model_uri}); "
            f"delete it (`cloudml-edu endpoint delete {name}`), pick another name, "
            "or deploy with replace=True (--replace)"
        )
    old.delete()
