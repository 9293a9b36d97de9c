"""Attach a job built outside cloudml-edu (a Designer canvas pipeline) as a training run.

The job gets a record in the workspace's run store like a ``fit`` would make;
its status, real start and end, steps and metrics are read by the same backend
code that follows the library's own jobs (``AzureMLBackend.observe``), so
Designer's classic *Evaluate Model* names (``Overall_Accuracy``...) go through
:meth:`cloudml_edu.metrics.Metrics.from_native` and the cost comes from the
job's real times, node count and cluster size.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cloudml_edu import run_store
from cloudml_edu.backends.azureml.connection import (
    OWNER_TAG,
    client_for,
    scope_of,
    settings,
    translate,
)
from cloudml_edu.backends.template import save_record
from cloudml_edu.errors import ConfigError, NotFoundError
from cloudml_edu.options import TrainOptions
from cloudml_edu.records.run import RemoteJob, RunRecord

if TYPE_CHECKING:
    from cloudml_edu.backends.azureml.backend import AzureMLBackend
    from cloudml_edu.workspace import Workspace

__all__ = ["JOB_BACKENDS", "attach_job"]

#: Azure ML job type -> the backend whose code reads it (steps, metrics).
JOB_BACKENDS = {"pipeline": "designer", "command": "sdk"}


def attach_job(ws: Workspace, name: str) -> RunRecord:
    """The run record of Azure ML job ``name``: made on first attach, refreshed after."""
    name = name.strip()
    if not name:
        raise ConfigError("pass the job's name, as the studio shows it on the job's Overview tab")
    for text in run_store.list_records(ws):
        run = RunRecord.model_validate_json(text)
        if run.remote is not None and run.remote.service == "azureml" and run.remote.name == name:
            return _backend(run.backend, ws).refresh(run)
    client = client_for(ws)
    try:
        job = client.jobs.get(name)
    except Exception as exc:
        error = translate(exc, action=f"read job {name}", ws=ws)
        if isinstance(error, NotFoundError):
            raise NotFoundError(
                f"no job {name!r} in Azure ML workspace {scope_of(ws).workspace_name}; copy its "
                "Name from the job's Overview tab in the studio (not its display name), and check "
                "[azure_ml] names the workspace it ran in"
            ) from exc
        raise error from exc
    backend_name = JOB_BACKENDS.get(str(job.type))
    if backend_name is None:
        raise ConfigError(
            f"job {name} is a {job.type} job; attach a pipeline (Designer) or command job"
        )
    backend = _backend(backend_name, ws)
    run = _record(ws, job, backend_name, _compute_of(job), _vm_size(ws, client, job))
    return backend.observe(run, job)


def _backend(name: str, ws: Workspace) -> AzureMLBackend:
    """The backend whose code reads a job of backend ``name`` (designer or sdk)."""
    from cloudml_edu.backends.azureml.designer import AzureDesignerBackend
    from cloudml_edu.backends.azureml.sdk import AzureSdkBackend

    backend = AzureDesignerBackend if name == "designer" else AzureSdkBackend
    return backend(ws, TrainOptions(), progress=None)


def _record(ws: Workspace, job: Any, backend: str, compute: str, vm_size: str) -> RunRecord:
    """A new record in the workspace's run store for ``job`` (not yet observed)."""
    dataset = _dataset_of(job)
    experiment = str(job.experiment_name or TrainOptions().experiment)
    run_id = run_store.create_record_run(
        ws,
        experiment=experiment,
        backend=backend,
        target="azureml",
        dataset=dataset,
        tags={"cloudml.job": str(job.name), "cloudml.attached": "true"},
    )
    created = getattr(job.creation_context, "created_at", None)
    run = RunRecord(
        id=run_id,
        backend=backend,
        target="azureml",
        owner=str((job.tags or {}).get(OWNER_TAG) or ws.owner),
        dataset=dataset,
        started=created if isinstance(created, datetime) else datetime.now(UTC),
        remote=RemoteJob(
            service="azureml",
            name=str(job.name),
            url=str(job.studio_url or ""),
            compute=compute,
            nodes=_nodes_of(job),
            attached=True,
            details={"vm_size": vm_size, "display_name": str(job.display_name or job.name)},
        ),
        tracking_uri=ws.tracking_uri,
    )
    save_record(ws, run)
    return run


def _compute_of(job: Any) -> str:
    """The cluster name of a job's compute (``azureml:x``, an ARM id, or None: serverless)."""
    settings_ = getattr(job, "settings", None)
    compute = getattr(job, "compute", None) or getattr(settings_, "default_compute", None)
    if not compute:
        return "serverless"
    return str(compute).rsplit("/", 1)[-1].removeprefix("azureml:")


def _vm_size(ws: Workspace, client: Any, job: Any) -> str:
    """The VM size of the job's cluster (one request); ``[azure_ml] vm_size`` if it is gone."""
    from azure.core.exceptions import ResourceNotFoundError

    compute = _compute_of(job)
    if compute == "serverless":
        resources = getattr(job, "resources", None)
        return str(getattr(resources, "instance_type", None) or settings(ws).vm_size)
    try:
        return str(client.compute.get(compute).size or settings(ws).vm_size)
    except ResourceNotFoundError:
        return settings(ws).vm_size  # deleted since: the configured size is the best guess
    except Exception as exc:
        raise translate(exc, action=f"read compute {compute}", ws=ws) from exc


def _nodes_of(job: Any) -> int:
    resources = getattr(job, "resources", None)
    count = getattr(resources, "instance_count", None)
    return int(count) if isinstance(count, int) and count > 0 else 1


def _dataset_of(job: Any) -> str:
    """The name of the first data asset among the job's inputs ('' when there is none)."""
    for value in (job.inputs or {}).values():
        path = str(getattr(value, "path", "") or "")
        if path.startswith("azureml:") and not path.startswith("azureml://"):
            return path.removeprefix("azureml:").split(":")[0].split("@")[0]
    return ""
