"""A job's life in the fake: run in the twin (the default) or scripted by a test.

A job the library submits runs (:mod:`.runner`): its status is its process's,
its metrics are what it logged, its error is its traceback.  A test may script
what the service does around the code instead (``statuses=`` queued forever, a
node preempted with ``error=``); a job built by hand in the studio
(:meth:`FakeAzureML.add_job`) has scripted ``metrics``, since its built-in
canvas components are not code the fake can run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cloudml_edu.testing.azure_ml.runner import StepRun

__all__ = ["TERMINAL", "JobScript"]

TERMINAL = ("Completed", "Failed", "Canceled", "NotResponding")


@dataclass
class JobScript:
    """How a job goes: run in the twin, or ``statuses`` in turn with ``metrics`` and ``error``."""

    statuses: list[str] | None = None
    metrics: dict[str, float] | None = None
    error: str | None = None
    seen: int = 0
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: datetime | None = None
    ended: datetime | None = None
    steps: list[StepRun] = field(default_factory=list)
    thread: threading.Thread | None = None

    @property
    def runs(self) -> bool:
        """True when the job's code runs in the twin (nothing scripted)."""
        return self.statuses is None and self.error is None and self.metrics is None

    def advance(self) -> str:
        """The status of the next ``jobs.get``."""
        if self.runs:
            return self.status
        statuses = self.statuses or ["Queued", "Running", "Failed" if self.error else "Completed"]
        status = statuses[min(self.seen, len(statuses) - 1)]
        self.seen += 1
        now = datetime.now(UTC)
        if status == "Running" and self.started is None:
            self.started = now
        if status in TERMINAL and self.ended is None:
            self.started = self.started or now - timedelta(minutes=3)
            self.ended = self.started + timedelta(minutes=3)
        return status

    @property
    def status(self) -> str:
        if self.runs:
            return self._run_status()
        statuses = self.statuses or ["Queued", "Running", "Failed" if self.error else "Completed"]
        return statuses[max(min(self.seen - 1, len(statuses) - 1), 0)]

    def _run_status(self) -> str:
        if self.thread is not None and self.thread.is_alive():
            canceling = any(s.status == "CancelRequested" for s in self.steps)
            return "CancelRequested" if canceling else "Running" if self.steps else "Queued"
        if self.thread is None:
            return "NotStarted"
        states = {s.status for s in self.steps}
        for final in ("Failed", "Canceled"):
            if final in states:
                return final
        return "Completed"

    def times(self) -> tuple[datetime | None, datetime | None]:
        """Real start and end of a job that ran, else the scripted ones."""
        if not self.runs:
            return self.started, self.ended
        starts = [s.started for s in self.steps if s.started]
        ends = [s.ended for s in self.steps if s.ended]
        done = self.status in TERMINAL
        return (min(starts) if starts else None), (max(ends) if ends and done else None)

    def failure(self) -> str:
        """The job's error: a failed step's own (with the traceback), or the scripted one."""
        if not self.runs:
            return self.error or ""
        failed = [s for s in self.steps if s.status == "Failed"]
        if not failed:
            return ""
        if len(self.steps) > 1 or failed[0].node:
            node = failed[0].node or failed[0].name
            return f"Pipeline has failed child jobs. Failed nodes: /{node}. {failed[0].error}"
        return failed[0].error

    def step(self, name: str) -> StepRun | None:
        return next((s for s in self.steps if s.name == name), None)
