"""What a training run records: its steps, trials or job, its plan, options, metrics and model.

A :class:`TrainingRun` is backed by an MLflow run in the workspace's run store
(:mod:`cloudml_edu.run_store`).  Its record (``run.json``) is saved there, so a
run can be found again by id from another process (``TrainingRun.get``),
refreshed and waited on, listed and compared, by a student or by an instructor
reading many students' runs from one store.
"""

from __future__ import annotations

import builtins
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from cloudml_edu._checks import check_number, check_text
from cloudml_edu._paths import ensure_dir, user_paths
from cloudml_edu._polling import Poller
from cloudml_edu._secrets import redact, redact_data
from cloudml_edu.errors import BackendError, ConfigError, StoreDamagedError
from cloudml_edu.metrics import Metrics
from cloudml_edu.options import TrainOptions
from cloudml_edu.targets import STORED, TargetName

if TYPE_CHECKING:
    from cloudml_edu.backends.base import Backend
    from cloudml_edu.workspace import Workspace

__all__ = [
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

#: The plan itself, as JSON, in every folder ``Plan.write`` fills.
PLAN_FILE = "plan.json"
RunStatus = Literal["NotStarted", "Running", "Completed", "Failed", "Canceled"]
TERMINAL: frozenset[str] = frozenset({"Completed", "Failed", "Canceled"})


class PlanStep(BaseModel):
    """One thing ``fit`` would do or create, with the request it would send."""

    name: str
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Plan(BaseModel):
    """A dry run: what ``fit`` would create and run, on what compute, at what estimated cost."""

    backend: str
    target: TargetName
    dataset: str
    steps: list[PlanStep]
    compute_sku: str = "local"
    nodes: int = 1
    estimated_minutes: float = 0.0
    estimated_cost_usd: float = 0.0
    price_source: str = ""
    files: dict[str, str] = Field(
        default_factory=dict,
        description="What `write` puts in a folder besides plan.json: relative path -> text "
        "(Azure ML CLI v2 YAML for a cloud plan)",
    )

    @model_validator(mode="after")
    def _without_secrets(self) -> Plan:
        """Every request body and file of a plan with its credentials replaced by ``***``
        (see :func:`~cloudml_edu._secrets.redact_data`): a plan is shown, written
        (plan.json, job.yml) and kept on the run, never with a secret in it."""
        for step in self.steps:
            step.detail = redact_data(step.detail)
        self.files = {rel: redact(text) for rel, text in self.files.items()}
        return self

    def __str__(self) -> str:
        lines = [
            f"plan: {self.backend} on {self.target} for dataset {self.dataset}",
            f"compute: {self.nodes} x {self.compute_sku}, ~{self.estimated_minutes:.1f} min, "
            f"estimated cost ${self.estimated_cost_usd:.2f}",
        ]
        lines += [f"  {i}. {step.name}: {step.action}" for i, step in enumerate(self.steps, 1)]
        if self.files:
            lines.append("files: " + ", ".join(sorted(self.files)))
        return "\n".join(lines)

    def write(self, folder: str | os.PathLike[str]) -> builtins.list[Path]:
        """Write ``plan.json`` and :attr:`files` into ``folder`` (secrets redacted); return the
        paths written.

        The folder is created and checked writable first; every file is written
        to a staging folder inside it and moved into place only when all are
        written, so a failure (a full disk) leaves no half-written set.
        """
        documents = {
            rel: redact(text)
            for rel, text in {
                PLAN_FILE: self.model_dump_json(indent=1, exclude={"files"}),
                **self.files,
            }.items()
        }
        for rel in documents:
            parts = PurePosixPath(rel).parts
            if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
                raise ConfigError(f"plan file {rel!r} is not a relative path inside the folder")
        target = ensure_dir(folder, what="plan folder")
        written: builtins.list[Path] = []
        with user_paths(target, what="plan folder"):
            staging = Path(tempfile.mkdtemp(prefix=".plan-", dir=target))
            try:
                for rel, text in documents.items():
                    staged = staging / rel
                    staged.parent.mkdir(parents=True, exist_ok=True)
                    staged.write_text(text, encoding="utf-8")
                for rel in documents:
                    final = target / rel
                    final.parent.mkdir(parents=True, exist_ok=True)
                    (staging / rel).replace(final)
                    written.append(final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return written

    def __repr__(self) -> str:
        from cloudml_edu._notebook import plan_repr

        return plan_repr(self)

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import plan_html

        return plan_html(self)


class StepRecord(BaseModel):
    """A pipeline step as it ran: component, parameters, inputs, outputs, timing."""

    name: str
    component: str
    status: RunStatus = "Completed"
    seconds: float = 0.0
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, str] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)
    url: str = Field(default="", description="Where the step can be opened (a studio page)")


class TrialRecord(BaseModel):
    """One AutoML trial: model family, hyperparameters, score and its MLflow child run."""

    number: int
    family: str
    params: dict[str, Any]
    score: float | None
    seconds: float
    run_id: str
    status: RunStatus = "Completed"
    error: str | None = None


class JobRecord(BaseModel):
    """A command job: what ran, how it ended, where its log is.

    A local job also keeps its process id and the process's start time (seconds
    since the epoch), so any process can tell whether that job still runs.
    """

    command: list[str]
    exit_code: int | None = None
    log_path: str = ""
    seconds: float = 0.0
    pid: int | None = None
    process_started: float | None = None


class RemoteJob(BaseModel):
    """The cloud job behind a run: its service, name, page and native status."""

    service: TargetName = Field(description="The target the job ran on")
    name: str
    url: str = ""
    status: str = Field(default="", description="The service's own status name")
    compute: str = ""
    nodes: int = 1
    started: datetime | None = None
    ended: datetime | None = None
    attached: bool = Field(
        default=False,
        description="Built outside cloudml-edu (by hand in a studio) and attached with "
        "TrainingRun.from_job",
    )
    details: dict[str, Any] = Field(default_factory=dict)


class TrainingRun(BaseModel):
    """The result of ``Trainer.fit``: status, metrics, model and how the backend got there.

    Found again by id with :meth:`get` (also in another process), refreshed with
    :meth:`refresh`, waited on with :meth:`wait`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    backend: str
    target: str = "local"
    owner: str = ""
    dataset: str = ""
    status: RunStatus = "NotStarted"
    started: datetime = Field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None
    metrics: Metrics | None = None
    model: str | None = Field(default=None, description="MLflow model URI")
    options: TrainOptions | None = Field(
        default=None, description="What the run was asked to do (secrets redacted)"
    )
    plan: Plan | None = None
    # ``builtins.list``: the classmethod ``list`` below shadows the name inside this class.
    steps: builtins.list[StepRecord] = Field(default_factory=list)
    trials: builtins.list[TrialRecord] = Field(default_factory=list)
    job: JobRecord | None = None
    remote: RemoteJob | None = None
    error: str | None = None
    tracking_uri: str = ""
    _workspace: Workspace | None = PrivateAttr(default=None)

    @classmethod
    def create(
        cls,
        workspace: Workspace,
        *,
        backend: str,
        target: str,
        dataset: str,
        options: TrainOptions,
        plan: Plan | None,
        status: RunStatus = "NotStarted",
        **fields: Any,
    ) -> TrainingRun:
        """A new run's record, saved in the workspace's run store (so `cloudml-edu runs` lists it
        from now on, whatever happens next); every backend, local or cloud, starts here."""
        from cloudml_edu import run_store

        run_id = run_store.create_record_run(
            workspace,
            experiment=options.experiment,
            backend=backend,
            target=target,
            dataset=dataset,
        )
        run = cls(
            id=run_id,
            backend=backend,
            target=target,
            owner=workspace.owner,
            dataset=dataset,
            status=status,
            options=options.for_record(),
            plan=plan,
            tracking_uri=workspace.tracking_uri,
            **fields,
        ).bind(workspace)
        run.save()
        return run

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

        return attach_job(target, workspace, name)

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
        run.tracking_uri = (
            workspace.tracking_uri
        )  # where it was read from, even if the folder moved
        return run.bind(workspace)

    def bind(self, workspace: Workspace) -> TrainingRun:
        """Remember the workspace this run lives in (``save``, ``refresh`` and ``wait`` use it)."""
        self._workspace = workspace
        return self

    def save(self) -> None:
        """Write this run's record to its workspace's run store."""
        from cloudml_edu import run_store

        store = self._workspace.tracking_uri if self._workspace is not None else self.tracking_uri
        if not store:
            raise ConfigError(
                f"run {self.id} does not know its run store; load it with "
                "TrainingRun.get(workspace, run_id) or call run.bind(workspace) first"
            )
        run_store.save_record(store, self.id, self.model_dump_json(indent=1))

    def refresh(self, workspace: Workspace | None = None) -> TrainingRun:
        """Ask the run's backend (a fresh one, found by backend and target) for its state now."""
        return self._backend(workspace).refresh(self)

    def wait(self, *, timeout: float | None = None) -> TrainingRun:
        """Block until the run ends; BackendError if it failed, TimeoutError past ``timeout`` s."""
        check_number(timeout, name="timeout", low=0, optional=True)
        return run_poller(self, self._backend(None)).result(timeout=timeout)

    def cancel(self, workspace: Workspace | None = None) -> None:
        """Ask the run's backend to stop it (a no-op once it has ended)."""
        backend = self._backend(workspace)
        if self.status not in TERMINAL:
            backend.cancel(self)

    def _backend(self, workspace: Workspace | None) -> Backend:
        from cloudml_edu.backends import open_backend
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

    @property
    def seconds(self) -> float:
        """Wall time from start to end (or to now while running)."""
        end = self.ended or datetime.now(UTC)
        return (end - self.started).total_seconds()

    def __repr__(self) -> str:
        from cloudml_edu._notebook import run_repr

        return run_repr(self)

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import run_html

        return run_html(self)

    def summary(self) -> str:
        """A one-line summary for terminals and logs."""
        if self.metrics is None:
            return f"{self.backend} {self.id[:8]} {self.status}"
        return (
            f"{self.backend} {self.id[:8]} {self.status}: accuracy {self.metrics.accuracy:.3f}, "
            f"F1 macro {self.metrics.f1_macro or 0:.3f}, {self.seconds:.1f} s"
        )


def run_poller(
    run: TrainingRun,
    backend: Backend,
    *,
    progress: bool | None = None,
    describe: Callable[[TrainingRun, float], str] | None = None,
    cancel_on_interrupt: bool = False,
) -> Poller[TrainingRun]:
    """A poller over ``run`` that refreshes and cancels it through ``backend``.

    ``result()`` returns the run once Completed and raises BackendError when it
    Failed or was Canceled; ``cancel_on_interrupt``: Ctrl-C cancels it (local work).
    """
    return Poller(
        run,
        refresh=backend.refresh,
        status_of=lambda r: r.status,
        terminal=TERMINAL,
        describe=describe or _describe,
        finish=_completed,
        cancel=backend.cancel,
        progress=progress,
        cancel_on_interrupt=cancel_on_interrupt,
    )


def _describe(run: TrainingRun, elapsed: float) -> str:
    return f"{run.backend} run {run.id[:8]} {run.status.lower()}, {elapsed:.0f} s"


def _completed(run: TrainingRun) -> TrainingRun:
    if run.status != "Completed":
        raise BackendError(
            f"run {run.id[:8]} ({run.backend}) {run.status}: {run.error}; "
            f"see `cloudml-edu runs` and the run's log"
        )
    return run
