"""Plumbing shared by the local backends: options, the run's record, failure handling.

A local backend fills in :class:`~cloudml_edu.backends.template.TrainingBackend`:
the template's ``begin_fit`` makes the run's record in the workspace's run
store, then calls ``start``: the designer and automl backends train right there
(their poller is done when returned), the sdk backend starts its job process
and returns at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from cloudml_edu.backends.template import TrainingBackend
from cloudml_edu.errors import BackendError, CloudMLError, NotFoundError
from cloudml_edu.records.metrics import Compute
from cloudml_edu.records.plan import Plan, PlanStep
from cloudml_edu.records.run import TERMINAL, RunRecord, RunStatus
from cloudml_edu.run_store import load_record
from cloudml_edu.targets import STORED

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.options import TrainOptions
    from cloudml_edu.training.fit import Outcome
    from cloudml_edu.workspace import Workspace

__all__ = ["LOCAL_COMPUTE", "LocalBackend"]

log = logging.getLogger(__name__)

LOCAL_COMPUTE = Compute(sku="local", nodes=1, node_hours=0.0)


class LocalBackend(TrainingBackend):
    """Base of the local backends: subclasses define ``plan_steps`` and ``start``."""

    target: ClassVar[str] = "local"
    first_status: ClassVar[RunStatus] = "Running"
    cancel_on_interrupt: bool = True  # Ctrl-C stops work on this machine at once

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None:
        super().__init__(workspace, options, progress=progress)
        if options.backend_options:
            log.warning(
                "backend_options %s are for cloud adapters; the local %s backend ignores them",
                sorted(options.backend_options),
                self.name,
            )

    def plan_steps(self, dataset: Dataset) -> list[PlanStep]:
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

    def interrupted(self, record: RunRecord) -> None:
        """Ctrl-C inside ``begin_fit``: as the template does, and end the MLflow run KILLED."""
        running = record.status not in TERMINAL
        super().interrupted(record)  # cancels the sdk job, if started
        if running and record.status == "Canceled":
            import mlflow

            mlflow.MlflowClient(self.workspace.tracking_uri).set_terminated(record.id, "KILLED")

    def refresh(self, run: RunRecord, /) -> RunRecord:
        """Designer and automl runs end inside ``begin_fit``: take what another process stored."""
        if run.status not in TERMINAL:
            self.adopt_stored(run)
        return run

    def cancel(self, run: RunRecord, /) -> None:
        """Designer and automl runs end inside ``begin_fit``: there is nothing left to stop."""

    def adopt_stored(self, run: RunRecord) -> bool:
        """Copy the stored record into ``run`` when it has ended there; True if it had."""
        try:
            stored = RunRecord.model_validate_json(
                load_record(self.workspace, run.id), context=STORED
            )
        except NotFoundError:
            return False
        if stored.status not in TERMINAL:
            return False
        for field in RunRecord.model_fields:
            if field != "tracking_uri":
                setattr(run, field, getattr(stored, field))
        return True

    def complete(self, run: RunRecord, outcome: Outcome, *, test_set: Dataset) -> None:
        """Log the outcome and the model, then mark the run Completed and record it."""
        from cloudml_edu.training.fit import log_outcome

        with self.failing_as(run, "log model"):
            run.model = log_outcome(outcome, test_set=test_set)
        run.metrics = outcome.metrics
        run.status, run.ended = "Completed", datetime.now(UTC)
        self.save(run)

    @contextmanager
    def failing_as(self, run: RunRecord, what: str) -> Iterator[None]:
        """Mark ``run`` Failed and raise BackendError naming ``what`` when the block fails."""
        try:
            yield
        except Exception as exc:
            self.fail(run, f"{what}: {exc}")
            if isinstance(exc, CloudMLError):
                raise
            raise BackendError(
                f"{self.name} run {run.id} failed in {what}: {exc}; see the run's logs in "
                f"{self.workspace.runs_dir / run.id}"
            ) from exc
