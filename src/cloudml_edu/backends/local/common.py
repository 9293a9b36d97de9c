"""Plumbing shared by the local backends: options, the run's record, failure handling.

A local backend's ``begin_fit`` makes the run's record in the workspace's run
store, then calls ``execute``: the designer and automl backends train right
there (their poller is done when returned), the sdk backend starts its job
process and returns at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from cloudml_edu.errors import BackendError, CloudMLError, NotFoundError
from cloudml_edu.metrics import Compute
from cloudml_edu.run import TERMINAL, Plan, PlanStep, TrainingRun, run_poller
from cloudml_edu.run_store import load_record
from cloudml_edu.targets import STORED

if TYPE_CHECKING:
    from cloudml_edu._polling import Poller
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.options import TrainOptions
    from cloudml_edu.training.fit import Outcome
    from cloudml_edu.workspace import Workspace

__all__ = ["LOCAL_COMPUTE", "LocalBackend"]

log = logging.getLogger(__name__)

LOCAL_COMPUTE = Compute(sku="local", nodes=1, node_hours=0.0)


class LocalBackend:
    """Base of the local backends: subclasses define ``plan_steps`` and ``execute``."""

    name: ClassVar[str]
    target: ClassVar[str] = "local"

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None:
        self.workspace = workspace
        self.options = options
        self.progress = progress
        if options.backend_options:
            log.warning(
                "backend_options %s are for cloud adapters; the local %s backend ignores them",
                sorted(options.backend_options),
                self.name,
            )

    def plan_steps(self, dataset: Dataset) -> list[PlanStep]:
        raise NotImplementedError

    def execute(self, run: TrainingRun, dataset: Dataset) -> None:
        """Train (or start training) ``run`` on ``dataset``."""
        raise NotImplementedError

    def estimated_minutes(self, dataset: Dataset) -> float:
        """A rough wall-time estimate on this machine (about 1 s per 1,000 images per fit)."""
        return max(0.1, len(dataset) / 1000 / 60)

    def plan(self, dataset: Dataset) -> Plan:
        return Plan(
            backend=self.name,
            target=self.target,
            dataset=dataset.name,
            steps=self.plan_steps(dataset),
            compute_sku="local",
            nodes=1,
            estimated_minutes=round(self.estimated_minutes(dataset), 2),
            estimated_cost_usd=0.0,
            price_source="local compute: no charge",
        )

    def begin_fit(self, dataset: Dataset) -> Poller[TrainingRun]:
        """Make the run's record, train or start the job, and return the run's poller."""
        plan = self.plan(dataset)  # checks the options before anything is written
        run = TrainingRun.create(
            self.workspace,
            backend=self.name,
            target=self.target,
            dataset=dataset.name,
            options=self.options,
            plan=plan,
            status="Running",
        )
        try:
            self.execute(run, dataset)
        except KeyboardInterrupt:
            self.interrupted(run)
            raise
        return run_poller(
            run, self, progress=self.progress, describe=self.describe, cancel_on_interrupt=True
        )

    def interrupted(self, run: TrainingRun) -> None:
        """Ctrl-C inside ``begin_fit``: stop what runs on this machine, record the run Canceled."""
        if run.status in TERMINAL:
            return
        self.cancel(run)  # the sdk job, if started; a no-op for in-process training
        if run.status not in TERMINAL:
            import mlflow

            run.status, run.ended = "Canceled", datetime.now(UTC)
            run.error = "interrupted (Ctrl-C) before it ended"
            mlflow.MlflowClient(self.workspace.tracking_uri).set_terminated(run.id, "KILLED")
            run.save()

    def describe(self, run: TrainingRun, elapsed: float) -> str:
        """The live status line while waiting on ``run``."""
        return f"{self.name} run {run.id[:8]} {run.status.lower()}, {elapsed:.0f} s"

    def refresh(self, run: TrainingRun) -> TrainingRun:
        """Designer and automl runs end inside ``begin_fit``: take what another process stored."""
        if run.status not in TERMINAL:
            self.adopt_stored(run)
        return run

    def cancel(self, run: TrainingRun) -> None:
        """Designer and automl runs end inside ``begin_fit``: there is nothing left to stop."""

    def adopt_stored(self, run: TrainingRun) -> bool:
        """Copy the stored record into ``run`` when it has ended there; True if it had."""
        try:
            stored = TrainingRun.model_validate_json(
                load_record(self.workspace, run.id), context=STORED
            )
        except NotFoundError:
            return False
        if stored.status not in TERMINAL:
            return False
        for field in TrainingRun.model_fields:
            if field != "tracking_uri":
                setattr(run, field, getattr(stored, field))
        return True

    def complete(self, run: TrainingRun, outcome: Outcome, *, test_set: Dataset) -> None:
        """Log the outcome and the model, then mark the run Completed and record it."""
        from cloudml_edu.training.fit import log_outcome

        with self.failing_as(run, "log model"):
            run.model = log_outcome(outcome, test_set=test_set)
        run.metrics = outcome.metrics
        run.status, run.ended = "Completed", datetime.now(UTC)
        run.save()

    @contextmanager
    def failing_as(self, run: TrainingRun, what: str) -> Iterator[None]:
        """Mark ``run`` Failed and raise BackendError naming ``what`` when the block fails."""
        try:
            yield
        except Exception as exc:
            run.status = "Failed"
            run.ended = datetime.now(UTC)
            run.error = f"{what}: {exc}"
            run.save()
            if isinstance(exc, CloudMLError):
                raise
            raise BackendError(
                f"{self.name} run {run.id} failed in {what}: {exc}; see the run's logs in "
                f"{self.workspace.runs_dir / run.id}"
            ) from exc
