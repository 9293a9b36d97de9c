"""A training run's record and its parts: steps, trials, the local job or the cloud job.

:class:`RunRecord` is what the workspace's run store keeps (``run.json``) and what
every backend reads and updates; :class:`cloudml_edu.TrainingRun` is the handle
users hold over it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cloudml_edu.options import TrainOptions
from cloudml_edu.records.metrics import Metrics
from cloudml_edu.records.plan import Plan
from cloudml_edu.targets import TargetName

__all__ = [
    "TERMINAL",
    "JobRecord",
    "RemoteJob",
    "RunRecord",
    "RunStatus",
    "StepRecord",
    "TrialRecord",
]

RunStatus = Literal["NotStarted", "Running", "Completed", "Failed", "Canceled"]
TERMINAL: frozenset[str] = frozenset({"Completed", "Failed", "Canceled"})


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


class RunRecord(BaseModel):
    """What the run store keeps about one training run, whatever trained it."""

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
    steps: list[StepRecord] = Field(default_factory=list)
    trials: list[TrialRecord] = Field(default_factory=list)
    job: JobRecord | None = None
    remote: RemoteJob | None = None
    error: str | None = None
    tracking_uri: str = ""

    @property
    def seconds(self) -> float:
        """Wall time from start to end (or to now while running)."""
        end = self.ended or datetime.now(UTC)
        return (end - self.started).total_seconds()

    def summary(self) -> str:
        """A one-line summary for terminals and logs."""
        if self.metrics is None:
            return f"{self.backend} {self.id[:8]} {self.status}"
        return (
            f"{self.backend} {self.id[:8]} {self.status}: accuracy {self.metrics.accuracy:.3f}, "
            f"F1 macro {self.metrics.f1_macro or 0:.3f}, {self.seconds:.1f} s"
        )
