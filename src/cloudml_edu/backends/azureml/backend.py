"""What the Azure ML ``sdk`` and ``designer`` backends share: submit, follow, finish, record.

A subclass says which job it builds (:meth:`AzureMLBackend.build_job`) and what
its plan lists; this class ensures the data asset, compute and code snapshot,
submits the job, keeps the run's record in the workspace's run store, polls
``jobs.get`` with backoff, and on the end reads the real start/end times, the
job's own error, and its full metrics (the ``metrics`` output's ``metrics.json``;
the MLflow scalars for a job built by hand).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cloudml_edu.backends.azureml import assets, known, service
from cloudml_edu.backends.azureml.connection import (
    client_for,
    owned_name,
    owner_tags,
    settings,
    translate,
)
from cloudml_edu.backends.template import TrainingBackend
from cloudml_edu.errors import BackendError, ConfigError, NotFoundError
from cloudml_edu.pricing import STARTUP_MINUTES as _STARTUP
from cloudml_edu.records.plan import Plan, PlanStep
from cloudml_edu.records.run import RemoteJob, RunRecord, RunStatus
from cloudml_edu.run_store import keep_files

if TYPE_CHECKING:
    from cloudml_edu.backends.base import TrainOptions
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.records.metrics import Metrics
    from cloudml_edu.workspace import Workspace

__all__ = ["METRICS_OUTPUT", "STATUS", "AzureMLBackend", "Submission"]

log = logging.getLogger(__name__)

#: Azure ML job status -> the library's run status.
STATUS: dict[str, RunStatus] = {
    "NotStarted": "NotStarted",
    "Queued": "NotStarted",
    "Preparing": "NotStarted",
    "Provisioning": "NotStarted",
    "Starting": "NotStarted",
    "Running": "Running",
    "Finalizing": "Running",
    "CancelRequested": "Running",
    "Completed": "Completed",
    "Failed": "Failed",
    "NotResponding": "Failed",
    "Canceled": "Canceled",
}
TERMINAL = ("Completed", "Failed", "Canceled")
#: Polling: first look after 2 s, then x1.5 up to one request every 10 s.
POLL_INTERVAL, POLL_MAX_INTERVAL = 2.0, 10.0
#: The job output (pipeline: the pipeline's output) holding ``metrics.json``, the full schema.
METRICS_OUTPUT = "metrics"
#: Expected queue + start-up of a job on a cluster that scaled to zero.
STARTUP_MINUTES = _STARTUP["azureml"]


class Submission:
    """The inputs of one job: data asset id, code snapshot folder, compute name (None: serverless)
    and the environment's id."""

    def __init__(self, data: str, code: Path, compute: str | None, environment: str) -> None:
        self.data, self.code, self.compute = data, code, compute
        self.environment = environment


class AzureMLBackend(TrainingBackend):
    """Base of the Azure ML backends; subclasses define ``name``, ``build_job``, ``job_steps``."""

    target: ClassVar[str] = "azureml"
    job_type: ClassVar[str]
    startup_minutes: ClassVar[float] = STARTUP_MINUTES
    poll_interval: float = POLL_INTERVAL
    poll_max_interval: float = POLL_MAX_INTERVAL

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None:
        super().__init__(workspace, options, progress=progress)
        self.settings = settings(workspace)

    # ---- what subclasses provide ---------------------------------------------
    def build_job(self, submission: Submission, *, name: str) -> Any:
        """The azure-ai-ml job object to submit (no request made)."""
        raise NotImplementedError

    def job_detail(self, job: Any) -> dict[str, Any]:
        """What the plan shows of the job: the REST body azure-ai-ml would PUT."""
        built = job._to_job() if hasattr(job, "_to_job") else job
        body: dict[str, Any] = built._to_rest_object().as_dict()
        return {"body": body}

    def job_steps(self, submission: Submission) -> list[PlanStep]:
        """Extra plan steps (the designer's components); none by default."""
        return []

    def prepare(self, submission: Submission, *, trust_known: bool) -> None:
        """Register what the job refers to (the designer's components); nothing by default."""

    def collect(self, run: RunRecord) -> None:
        """After the job ended: fill the run's steps (designer); nothing by default."""

    # ---- plan ------------------------------------------------------------------
    def offline_submission(self, dataset: Dataset) -> Submission:
        """The submission ``fit`` would make, worked out without any request."""
        name, version = assets.data_asset_name(self.workspace, dataset)
        compute = None if self.settings.serverless else self.settings.compute
        return Submission(
            f"azureml:{name}:{version}",
            assets.code_snapshot(self.workspace),
            compute,
            assets.job_environment(self.workspace),
        )

    def plan(self, dataset: Dataset) -> Plan:
        from cloudml_edu.backends.azureml.plan import build_plan

        return build_plan(self, dataset)  # plan.py is below this module: it imports nothing here

    # ---- fit ---------------------------------------------------------------------
    def start(self, run: RunRecord, dataset: Dataset) -> None:
        """Ensure data, compute and code and submit the job (the template records a failure)."""
        job_name = owned_name(self.workspace, f"{self.name}-{uuid.uuid4().hex[:10]}", limit=60)
        job_name = job_name.replace("-", "_")
        try:
            submission, created = self._submit(dataset, job_name, trust_known=True)
        except (NotFoundError, ConfigError):
            if not known.forget(self.workspace):
                raise
            # something this folder remembered is gone (a deleted cluster): ask for all
            submission, created = self._submit(dataset, job_name, trust_known=False)
        run.remote = RemoteJob(
            service="azureml",
            name=str(created.name),
            url=str(created.studio_url or ""),
            status=_status_text(created.status),
            compute=submission.compute or "serverless",
            nodes=1,
            details={"vm_size": self.settings.vm_size},
        )
        run.status = STATUS.get(run.remote.status, "NotStarted")

    def _submit(
        self, dataset: Dataset, job_name: str, *, trust_known: bool
    ) -> tuple[Submission, Any]:
        """Ensure data, code, compute and (designer) components; submit; the created job."""
        client = client_for(self.workspace)
        submission = Submission(
            assets.ensure_data(self.workspace, client, dataset, trust_known=trust_known),
            assets.code_snapshot(self.workspace),
            assets.ensure_compute(self.workspace, client, trust_known=trust_known),
            assets.ensure_environment(self.workspace, client, trust_known=trust_known),
        )
        self.prepare(submission, trust_known=trust_known)
        job = self.build_job(submission, name=job_name)
        try:
            return submission, client.jobs.create_or_update(job)
        except Exception as exc:
            raise translate(exc, action=f"submit job {job_name}", ws=self.workspace) from exc

    def refresh(self, run: RunRecord, /) -> RunRecord:
        """Ask Azure ML for the job's status; once it has ended, read its outcome; save."""
        remote = _remote(run)
        if run.status in TERMINAL:
            return run
        try:
            job = client_for(self.workspace).jobs.get(remote.name)
        except Exception as exc:
            raise translate(exc, action=f"read job {remote.name}", ws=self.workspace) from exc
        return self.observe(run, job)

    def observe(self, run: RunRecord, job: Any) -> RunRecord:
        """Update ``run`` from ``job`` (as ``jobs.get`` returned it); read the outcome once it ended."""
        remote = _remote(run)
        native = _status_text(job.status)
        if native != remote.status:
            remote.status = native
            remote.url = str(job.studio_url or remote.url)
            run.status = STATUS.get(native, "Running")
            if run.status in TERMINAL:
                self._collect_outcome(run)
            self.save(run)
        return run

    def cancel(self, run: RunRecord, /) -> None:
        """Ask Azure ML to cancel the job (``jobs.begin_cancel``)."""
        remote = _remote(run)
        try:
            client_for(self.workspace).jobs.begin_cancel(remote.name).result(timeout=120)
        except Exception as exc:
            raise translate(exc, action=f"cancel job {remote.name}", ws=self.workspace) from exc

    def failure_message(self, record: RunRecord) -> str:
        """The job's error and where its logs are (the studio page)."""
        remote = record.remote
        if remote is None:  # it failed before it was submitted
            return super().failure_message(record)
        return (
            f"Azure ML job {remote.name} {remote.status}: {record.error}; open it in the studio "
            f"for its logs: {remote.url}"
        )

    def describe(self, record: RunRecord, elapsed: float, /) -> str:
        remote = record.remote
        where = f"job {remote.name} {remote.status}" if remote else record.status
        return f"Azure ML {record.backend} {where}, {elapsed:.0f} s"

    def _collect_outcome(self, run: RunRecord) -> None:
        """Real start/end times, and the job's error or its metrics, model and cost."""
        remote = _remote(run)
        details = service.job_details(self.workspace, remote.name)
        remote.started = _parse_time(details.get("startTimeUtc")) or remote.started
        remote.ended = _parse_time(details.get("endTimeUtc")) or datetime.now(UTC)
        # an attached job may have ended long before it was attached: its wall time is the job's
        run.ended = remote.ended if remote.attached else datetime.now(UTC)
        if run.status != "Completed":
            run.error = self.failure(run, details) or f"the job ended {remote.status}"
            return
        self.collect(run)
        try:
            metrics = self.read_metrics(run)
        except BackendError as exc:  # no usable score: the run ends Failed, not Running
            run.status, run.error = "Failed", str(exc)
            return
        seconds = (remote.ended - remote.started).total_seconds() if remote.started else 0.0
        vm_size = str(remote.details.get("vm_size") or self.settings.vm_size)
        sku = "serverless" if remote.compute == "serverless" else vm_size
        run.metrics = self.priced(
            metrics, sku=sku, nodes=remote.nodes, seconds=seconds, price_sku=vm_size
        )
        # a hand-built job's model is wherever its author put it: deploy it from the studio
        run.model = None if remote.attached else self.model_uri(run)

    def read_metrics(self, run: RunRecord) -> Metrics:
        """The job's full metrics from its ``metrics`` output, whose files (predictions,
        features, misclassified images) are kept beside the run's record for the report; the
        MLflow scalars of its metrics run when it has no such output (a job built by hand)."""
        remote = _remote(run)
        if not remote.attached:
            with tempfile.TemporaryDirectory(prefix="cloudml-outputs-") as tmp:
                folder = service.download_output(
                    self.workspace, remote.name, METRICS_OUTPUT, Path(tmp)
                )
                if folder is not None:
                    metrics = service.metrics_in(folder, job=remote.name)
                    keep_files(self.workspace, run.id, folder)
                    return metrics
        return service.read_metrics(self.workspace, self.metrics_run(run))

    def failure(self, run: RunRecord, details: dict[str, Any]) -> str:
        """The job's own error (run history); the designer reads its failed step's."""
        return service.error_of(details)

    def cost_usd(self, node_hours: float, *, sku: str) -> float:
        """``node_hours`` of VM size ``sku`` at the recorded (or configured) price."""
        from cloudml_edu.pricing import estimate_cost

        return estimate_cost(sku, node_hours, overrides=self.workspace.config.prices)

    def model_uri(self, run: RunRecord) -> str:
        """Where the job's MLflow model is: its ``model`` output (type ``mlflow_model``)."""
        return f"azureml://jobs/{_remote(run).name}/outputs/model"

    def metrics_run(self, run: RunRecord) -> str:
        """The MLflow run holding the metrics: the job itself (the designer: its evaluate step)."""
        return _remote(run).name

    def tags(self, **extra: str) -> dict[str, str]:
        """Tags of the job: owner, library version, backend."""
        return owner_tags(self.workspace, **{"cloudml.backend": self.name}, **extra)


def _remote(run: RunRecord) -> RemoteJob:
    if run.remote is None:
        raise BackendError(f"run {run.id} has no Azure ML job; it was not submitted")
    return run.remote


def _status_text(status: Any) -> str:
    return str(getattr(status, "value", status) or "NotStarted")


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
