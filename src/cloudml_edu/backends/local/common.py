"""Plumbing shared by the local backends: options, MLflow run lifecycle, failure handling."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from cloudml_edu.backends.local.tracking import save_record, start_run
from cloudml_edu.errors import BackendError, CloudMLError
from cloudml_edu.metrics import Compute
from cloudml_edu.run import Plan, PlanStep, TrainingRun

if TYPE_CHECKING:
    from cloudml_edu.backends.base import TrainOptions
    from cloudml_edu.dataset import Dataset
    from cloudml_edu.training.fit import Outcome
    from cloudml_edu.workspace import Workspace

__all__ = ["LOCAL_COMPUTE", "LocalBackend"]

log = logging.getLogger(__name__)

LOCAL_COMPUTE = Compute(sku="local", nodes=1, node_hours=0.0)


class LocalBackend:
    """Base of the local backends: subclasses define ``plan_steps`` and ``execute``."""

    name: ClassVar[str]
    target: ClassVar[str] = "local"
    #: Options this backend uses; others are accepted (one script, any backend) but noted.
    uses: ClassVar[frozenset[str]] = frozenset()

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

    def estimated_minutes(self, dataset: Dataset) -> float:
        """A rough wall-time estimate on this machine (about 1 s per 1,000 images per fit)."""
        return max(0.1, len(dataset) / 1000 / 60)

    def plan(self, dataset: Dataset) -> Plan:
        return Plan(
            backend=self.name,
            target="local",
            dataset=dataset.name,
            steps=self.plan_steps(dataset),
            compute_sku="local",
            nodes=1,
            estimated_minutes=round(self.estimated_minutes(dataset), 2),
            estimated_cost_usd=0.0,
            price_source="local compute: no charge",
        )

    def new_run(self, run_id: str, dataset: Dataset, **fields: Any) -> TrainingRun:
        """The record of a run that has just started."""
        return TrainingRun(
            id=run_id,
            backend=self.name,
            owner=self.workspace.owner,
            dataset=dataset.name,
            status="Running",
            plan=self.plan(dataset),
            tracking_uri=self.workspace.tracking_uri,
            **fields,
        )

    @contextmanager
    def tracked_run(self, dataset: Dataset) -> Iterator[TrainingRun]:
        """An MLflow run for the whole fit, and its record."""
        with start_run(
            self.workspace,
            experiment=self.options.experiment,
            backend=self.name,
            dataset=dataset.name,
            tags={"cloudml.kind": "training"},
        ) as active:
            yield self.new_run(active.info.run_id, dataset)

    def complete(self, run: TrainingRun, outcome: Outcome, *, test_set: Dataset) -> None:
        """Log the outcome and the model, then mark the run Completed and record it."""
        from cloudml_edu.training.fit import log_outcome

        with self.failing_as(run, "log model"):
            run.model = log_outcome(outcome, test_set=test_set)
        run.metrics = outcome.metrics
        run.status, run.ended = "Completed", datetime.now(UTC)
        save_record(run)

    def refresh(self, run: TrainingRun) -> None:
        """Local designer and automl runs finish inside ``fit``; nothing to refresh."""

    @contextmanager
    def failing_as(self, run: TrainingRun, what: str) -> Iterator[None]:
        """Mark ``run`` Failed and raise BackendError naming ``what`` when the block fails."""
        try:
            yield
        except Exception as exc:
            run.status = "Failed"
            run.ended = datetime.now(UTC)
            run.error = f"{what}: {exc}"
            save_record(run)
            if isinstance(exc, CloudMLError):
                raise
            raise BackendError(
                f"{self.name} run {run.id} failed in {what}: {exc}; see the run's logs in "
                f"{self.workspace.runs_dir / run.id}"
            ) from exc
