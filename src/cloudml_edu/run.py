"""The handle on a training run: found by id, refreshed, waited on, cancelled, listed.

A run's data is its :class:`~cloudml_edu.records.RunRecord` (steps, trials or
job, plan, options, metrics, model), kept in the workspace's run store
(:mod:`cloudml_edu.run_store`), so a run can be found again by id from another
process (``TrainingRun.get``), refreshed and waited on, listed and compared, by a
student or by an instructor reading many students' runs from one store.
:class:`TrainingRun` carries the record's fields as last seen: reading them
never sends a request; :meth:`TrainingRun.refresh` asks the backend again.
"""

from __future__ import annotations

import builtins
import logging
from typing import TYPE_CHECKING

from pydantic import PrivateAttr, ValidationError

from cloudml_edu._checks import check_number, check_text
from cloudml_edu._polling import Poller
from cloudml_edu.errors import ConfigError, StoreDamagedError
from cloudml_edu.records.plan import Plan, PlanStep
from cloudml_edu.records.run import (
    TERMINAL,
    JobRecord,
    RemoteJob,
    RunRecord,
    RunStatus,
    StepRecord,
    TrialRecord,
)
from cloudml_edu.targets import STORED

if TYPE_CHECKING:
    from cloudml_edu.backends.template import TrainingBackend
    from cloudml_edu.workspace import Workspace

__all__ = [
    "TERMINAL",
    "JobRecord",
    "Plan",
    "PlanStep",
    "RemoteJob",
    "RunStatus",
    "StepRecord",
    "TrainingRun",
    "TrialRecord",
    "run_poller",
]

log = logging.getLogger(__name__)


class TrainingRun(RunRecord):
    """The result of ``Trainer.fit``: a handle on one run's record, with the record's fields.

    Found again by id with :meth:`get` (also in another process), listed with
    :meth:`list`; :meth:`refresh` asks the run's backend for its state now (the
    only call that updates :attr:`status`), :meth:`wait` blocks until it ends,
    exactly as ``Trainer.begin_fit(...).result()`` does, :meth:`cancel` stops it.
    """

    _workspace: Workspace | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, record: RunRecord, workspace: Workspace) -> TrainingRun:
        """The handle on ``record``, a run of ``workspace``."""
        return cls.model_validate(record.model_dump()).bind(workspace)

    @property
    def record(self) -> RunRecord:
        """A copy of the run's record as last seen (what backends read and update)."""
        return RunRecord.model_validate(self.model_dump())

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> TrainingRun:
        """The run ``run_id`` (a full id, or a unique prefix of at least 4 characters) of ``workspace``."""
        from cloudml_edu import run_store
        from cloudml_edu.workspace import resolve_workspace

        check_text(run_id, name="run_id", example="the id `cloudml-edu runs` prints")
        ws = resolve_workspace(workspace)
        full = run_store.resolve_run_id(ws, run_id)
        return cls._loaded(run_store.load_record(ws, full), ws, run_id=full)

    @classmethod
    def from_job(cls, workspace: Workspace, name: str, *, target: str = "azureml") -> TrainingRun:
        """Attach the cloud job ``name`` built outside cloudml-edu (a Designer canvas pipeline).

        The job gets a record in the workspace's run store, with its status,
        times, steps and metrics read from the service, so it is listed and
        compared with the library's runs.  Attaching the same job again returns
        its record, refreshed.
        """
        from cloudml_edu.backends import attach_job
        from cloudml_edu.workspace import resolve_workspace

        ws = resolve_workspace(workspace)
        return cls.of(attach_job(target, ws, name), ws)

    @classmethod
    def list(cls, workspace: Workspace, *, owner: str | None = None) -> builtins.list[TrainingRun]:
        """Every training run of ``workspace`` (optionally one owner's), newest first."""
        from cloudml_edu import run_store
        from cloudml_edu.workspace import resolve_workspace

        check_text(owner, name="owner", optional=True)
        ws = resolve_workspace(workspace)
        runs = []
        for run_id, text in run_store.list_record_items(ws, owner=owner):
            try:
                runs.append(cls._loaded(text, ws, run_id=run_id))
            except StoreDamagedError as exc:  # one bad record never hides the others
                log.warning("skipping a run: %s", exc)
        return runs

    @classmethod
    def _loaded(cls, record: str, workspace: Workspace, *, run_id: str = "") -> TrainingRun:
        try:
            run = cls.model_validate_json(record, context=STORED)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "the document"
            raise StoreDamagedError(
                f"the record of run {run_id or '?'} (run.json in {workspace.tracking_uri}) "
                f"cannot be read ({where}: {problem['msg']}): it was edited or damaged. "
                "Restore it from a copy; listings skip it meanwhile"
            ) from None
        run.tracking_uri = workspace.tracking_uri  # where it was read from, even if it moved
        return run.bind(workspace)

    def bind(self, workspace: Workspace) -> TrainingRun:
        """Remember the workspace this run lives in (``save``, ``refresh`` and ``wait`` use it)."""
        self._workspace = workspace
        return self

    def save(self) -> None:
        """Write this run's record to its workspace's run store."""
        from cloudml_edu.backends.template import save_record

        save_record(self._workspace or self.tracking_uri, self.record)

    def refresh(self, workspace: Workspace | None = None) -> TrainingRun:
        """Ask the run's backend (a fresh one, found by backend and target) for its state now."""
        return self._adopt(self._backend(workspace).refresh(self.record))

    def wait(self, *, timeout: float | None = None) -> TrainingRun:
        """Block until the run ends; BackendError if it failed, TimeoutError past ``timeout`` s.

        Follows the run exactly as the poller ``begin_fit`` returned does (same
        intervals, same errors), whichever process started it.
        """
        check_number(timeout, name="timeout", low=0, optional=True)
        return run_poller(self, self._backend(None)).result(timeout=timeout)

    def cancel(self, workspace: Workspace | None = None) -> None:
        """Ask the run's backend to stop it (a no-op once it has ended)."""
        backend = self._backend(workspace)
        if self.status not in TERMINAL:
            record = self.record
            backend.cancel(record)
            self._adopt(backend.refresh(record))

    def _adopt(self, record: RunRecord) -> TrainingRun:
        """Take ``record``'s fields as this handle's (after the backend refreshed it)."""
        for field in RunRecord.model_fields:
            if field != "tracking_uri":
                setattr(self, field, getattr(record, field))
        return self

    def _backend(self, workspace: Workspace | None) -> TrainingBackend:
        from cloudml_edu.backends import open_backend
        from cloudml_edu.options import TrainOptions
        from cloudml_edu.workspace import resolve_workspace

        chosen = resolve_workspace(workspace) if workspace is not None else self._workspace
        if chosen is None:
            raise ConfigError(
                f"run {self.id} does not know its workspace; pass it (run.refresh(workspace=ws)) "
                "or load the run with TrainingRun.get(ws, run_id)"
            )
        self._workspace = chosen
        options = self.options or TrainOptions()
        return open_backend(self.backend, self.target, chosen, options, progress=None)

    def __repr__(self) -> str:
        from cloudml_edu._notebook import run_repr

        return run_repr(self)

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import run_html

        return run_html(self)


class _FollowRun:
    """Follows a :class:`TrainingRun` handle through its backend's own way of following a record."""

    def __init__(self, backend: TrainingBackend) -> None:
        self.backend = backend
        self.terminal = backend.terminal
        self.poll_interval = backend.poll_interval
        self.poll_max_interval = backend.poll_max_interval
        self.cancellable = backend.cancellable
        self.cancel_on_interrupt = backend.cancel_on_interrupt

    def refresh(self, run: TrainingRun, /) -> TrainingRun:
        return run._adopt(self.backend.refresh(run.record))

    def status_of(self, run: TrainingRun, /) -> str:
        return run.status

    def describe(self, run: TrainingRun, elapsed: float, /) -> str:
        return self.backend.describe(run.record, elapsed)

    def finish(self, run: TrainingRun, /) -> TrainingRun:
        return run._adopt(self.backend.finish(run.record))

    def cancel(self, run: TrainingRun, /) -> None:
        record = run.record
        self.backend.cancel(record)
        run._adopt(record)


def run_poller(
    run: TrainingRun, backend: TrainingBackend, *, progress: bool | None = None
) -> Poller[TrainingRun]:
    """A poller over the handle ``run`` that follows it as ``backend.poller`` follows a record.

    Every part (intervals, status line, the error for a run that Failed or was
    Canceled, cancel) is the backend's own, so ``TrainingRun.get(ws, id).wait()``
    and ``Trainer.begin_fit(...).result()`` behave alike.
    """
    chosen = backend.progress if progress is None else progress
    return Poller(run, _FollowRun(backend), progress=chosen)
