"""What a training run records: its steps, trials or job, its plan, metrics and model.

A :class:`TrainingRun` is backed by an MLflow run.  Its record (``run.json``) is
logged as an artifact, so runs can be listed and compared later, by a student
or by an instructor reading many students' runs from one tracking store.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudml_edu.errors import BackendError, TimeoutError
from cloudml_edu.metrics import Metrics

__all__ = ["JobRecord", "Plan", "PlanStep", "RunStatus", "StepRecord", "TrainingRun", "TrialRecord"]

RunStatus = Literal["NotStarted", "Running", "Completed", "Failed", "Canceled"]
TERMINAL: frozenset[str] = frozenset({"Completed", "Failed", "Canceled"})
RUN_RECORD = "run.json"


class PlanStep(BaseModel):
    """One thing ``fit`` would do or create, with the request it would send."""

    name: str
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Plan(BaseModel):
    """A dry run: what ``fit`` would create and run, on what compute, at what estimated cost."""

    backend: str
    target: Literal["local", "azureml", "databricks"]
    dataset: str
    steps: list[PlanStep]
    compute_sku: str = "local"
    nodes: int = 1
    estimated_minutes: float = 0.0
    estimated_cost_usd: float = 0.0
    price_source: str = ""

    def __str__(self) -> str:
        lines = [
            f"plan: {self.backend} on {self.target} for dataset {self.dataset}",
            f"compute: {self.nodes} x {self.compute_sku}, ~{self.estimated_minutes:.1f} min, "
            f"estimated cost ${self.estimated_cost_usd:.2f}",
        ]
        lines += [f"  {i}. {step.name}: {step.action}" for i, step in enumerate(self.steps, 1)]
        return "\n".join(lines)

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
    """A command job: what ran, how it ended, where its log is."""

    command: list[str]
    exit_code: int | None = None
    log_path: str = ""
    seconds: float = 0.0


class TrainingRun(BaseModel):
    """The result of ``Trainer.fit``: status, metrics, model and how the backend got there."""

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
    plan: Plan | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    trials: list[TrialRecord] = Field(default_factory=list)
    job: JobRecord | None = None
    error: str | None = None
    tracking_uri: str = ""

    @property
    def seconds(self) -> float:
        """Wall time from start to end (or to now while running)."""
        end = self.ended or datetime.now(UTC)
        return (end - self.started).total_seconds()

    def wait(self, *, timeout: float = 3600.0, poll: float = 0.5) -> TrainingRun:
        """Block until the run ends; raises BackendError if it failed, TimeoutError past ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.status not in TERMINAL:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"run {self.id} still {self.status} after {timeout:.0f} s; call wait() "
                    "again with a longer timeout, or cancel it"
                )
            self.refresh()
            if self.status not in TERMINAL:
                time.sleep(poll)
        if self.status != "Completed":
            raise BackendError(f"run {self.id} ({self.backend}) {self.status}: {self.error}")
        return self

    def refresh(self) -> None:
        """Update status from the backend; local runs are already final when returned."""
        from cloudml_edu.backends import refresh_run

        refresh_run(self)

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
