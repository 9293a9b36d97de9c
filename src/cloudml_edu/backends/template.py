"""The one skeleton every training backend fills in (as fsspec's ``AbstractFileSystem`` is).

Written once here: the run's record (made in the workspace's run store before
any work starts), the poller (built from the backend itself, so a run found by
id later is followed with the same intervals and ends with the same errors as
``begin_fit().result()``), the failure bookkeeping (a Failed record with the
error, saved, whatever went wrong), Ctrl-C during the start, and the compute
and cost put on a run's metrics (:meth:`TrainingBackend.priced`).

Each adapter supplies the primitives: :meth:`plan`, :meth:`prepare_inputs` (work
before the record exists, optional), :meth:`start` (submit), :meth:`refresh`
(status and, at the end, results), :meth:`cancel`, and the price of compute
(:meth:`cost_usd`; nothing on this machine).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from cloudml_edu import run_store
from cloudml_edu._polling import Following, Poller
from cloudml_edu.errors import BackendError, ConfigError
from cloudml_edu.records.metrics import Compute, Metrics
from cloudml_edu.records.run import TERMINAL, RunRecord, RunStatus

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.options import TrainOptions
    from cloudml_edu.records.plan import Plan
    from cloudml_edu.workspace import Workspace

__all__ = ["TrainingBackend"]


class TrainingBackend(Following[RunRecord]):
    """Base of every backend: ``begin_fit``, the poller and the run's record, once."""

    name: ClassVar[str]
    target: ClassVar[str]
    terminal: frozenset[str] = TERMINAL
    cancellable: bool = True
    #: What the run says while its job starts (a local run trains at once: ``Running``).
    first_status: ClassVar[RunStatus] = "NotStarted"

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None:
        self.workspace = workspace
        self.options = options
        self.progress = progress

    # ---- the primitives each adapter supplies ---------------------------------------------
    def plan(self, dataset: Dataset) -> Plan:
        """What ``fit`` would do and cost, without doing it (no network)."""
        raise NotImplementedError

    def prepare_inputs(self, dataset: Dataset) -> dict[str, Any]:
        """Work before the record exists (checks, uploads); extra fields for the new record."""
        return {}

    def start(self, record: RunRecord, dataset: Dataset) -> None:
        """Submit the work (or do it, in process); fill ``record.job`` / ``record.remote``."""
        raise NotImplementedError

    def refresh(self, record: RunRecord, /) -> RunRecord:
        """Ask the process or service for the run's state; update ``record``, save it, return it."""
        raise NotImplementedError

    def cancel(self, record: RunRecord, /) -> None:
        """Ask the process or service to stop the run (the poller refreshes it afterwards)."""
        raise NotImplementedError

    def cost_usd(self, node_hours: float, *, sku: str) -> float:
        """What ``node_hours`` of ``sku`` cost in US dollars (compute on this machine: nothing)."""
        return 0.0

    # ---- written once ---------------------------------------------------------------------
    def begin_fit(self, dataset: Dataset) -> Poller[RunRecord]:
        """Plan (checks the options), prepare, record, start; return the run's poller.

        A failure after the record exists leaves it Failed with the error; Ctrl-C
        stops what was started (:meth:`interrupted`) and leaves it Canceled.
        """
        plan = self.plan(dataset)
        fields = self.prepare_inputs(dataset)
        record = self.new_record(dataset, plan, **fields)
        try:
            self.start(record, dataset)
        except KeyboardInterrupt:
            self.interrupted(record)
            raise
        except Exception as exc:
            if record.status not in TERMINAL:
                self.fail(record, str(exc))
            raise
        self.save(record)
        return self.poller(record)

    def poller(self, record: RunRecord, *, progress: bool | None = None) -> Poller[RunRecord]:
        """The poller following ``record``: the same for a new run and for one found by id."""
        return Poller(record, self, progress=self.progress if progress is None else progress)

    def new_record(self, dataset: Dataset, plan: Plan, **fields: Any) -> RunRecord:
        """A new run's record, saved in the workspace's run store (``cloudml-edu runs`` lists it
        from now on, whatever happens next)."""
        run_id = run_store.create_record_run(
            self.workspace,
            experiment=self.options.experiment,
            backend=self.name,
            target=self.target,
            dataset=dataset.name,
        )
        record = RunRecord(
            id=run_id,
            backend=self.name,
            target=self.target,
            owner=self.workspace.owner,
            dataset=dataset.name,
            status=self.first_status,
            options=self.options.for_record(),
            plan=plan,
            tracking_uri=self.workspace.tracking_uri,
            **fields,
        )
        self.save(record)
        return record

    def priced(
        self,
        metrics: Metrics,
        *,
        sku: str,
        nodes: int,
        seconds: float,
        price_sku: str | None = None,
    ) -> Metrics:
        """``metrics`` with the compute a run used (``nodes`` x ``sku`` for ``seconds``) and its
        cost, priced by :meth:`cost_usd` (at ``price_sku`` when the shown ``sku`` is not a price
        key, as ``serverless`` is not)."""
        node_hours = max(seconds, 0.0) / 3600 * nodes
        compute = Compute(sku=sku, nodes=nodes, node_hours=round(node_hours, 4))
        cost = self.cost_usd(node_hours, sku=price_sku or sku)
        return metrics.model_copy(update={"compute": compute, "cost_usd": cost})

    def save(self, record: RunRecord) -> None:
        """Write ``record`` to the workspace's run store."""
        save_record(self.workspace, record)

    def fail(self, record: RunRecord, error: str) -> None:
        """Record the run Failed now with ``error``, and save it."""
        record.status, record.error, record.ended = "Failed", error, datetime.now(UTC)
        self.save(record)

    def interrupted(self, record: RunRecord) -> None:
        """Ctrl-C inside ``begin_fit``: stop what was started, record the run Canceled."""
        if record.status in TERMINAL:
            return
        self.cancel(record)
        if record.status not in TERMINAL:
            record.status, record.ended = "Canceled", datetime.now(UTC)
            record.error = "interrupted (Ctrl-C) before it ended"
            self.save(record)

    # ---- how the poller follows a run (see cloudml_edu._polling.Follow) -------------------
    def status_of(self, record: RunRecord, /) -> str:
        return record.status

    def describe(self, record: RunRecord, elapsed: float, /) -> str:
        """The live status line while waiting on ``record``."""
        return f"{self.name} run {record.id[:8]} {record.status.lower()}, {elapsed:.0f} s"

    def finish(self, record: RunRecord, /) -> RunRecord:
        """The end of a wait: the record when Completed, else BackendError with its error."""
        if record.status != "Completed":
            raise BackendError(self.failure_message(record))
        return record

    def failure_message(self, record: RunRecord) -> str:
        """What ``finish`` says about a run that did not complete."""
        return (
            f"run {record.id[:8]} ({record.backend}) {record.status}: {record.error}; "
            "see `cloudml-edu runs` and the run's log"
        )


def save_record(workspace: Workspace | str, record: RunRecord) -> None:
    """Write ``record`` to the run store of ``workspace`` (or of the tracking URI given)."""
    store = workspace if isinstance(workspace, str) else workspace.tracking_uri
    if not store:
        raise ConfigError(
            f"run {record.id} does not know its run store; load it with "
            "TrainingRun.get(workspace, run_id)"
        )
    run_store.save_record(store, record.id, record.model_dump_json(indent=1))
