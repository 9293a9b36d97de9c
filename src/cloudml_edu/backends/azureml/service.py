"""Reading a finished job: metrics through MLflow, the job's own error from run history.

The workspace's tracking URI (``azureml://<region>.api.azureml.ms/mlflow/v1.0/...``)
needs the ``azureml-mlflow`` plugin to be used as is; its REST form
(``https://...``) is plain MLflow REST with a bearer token from the workspace
credential, so no plugin (and its extra dependencies) is needed and the same
requests go through the test fake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudml_edu._paths import resolve_under
from cloudml_edu._quiet import silenced_info
from cloudml_edu.backends.azureml.connection import (
    client_for,
    credential_for,
    scope_of,
    settings,
    translate,
)
from cloudml_edu.errors import BackendError, NotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from cloudml_edu.records.metrics import Metrics
    from cloudml_edu.workspace import Workspace

__all__ = [
    "download_output",
    "error_of",
    "job_details",
    "metrics_in",
    "read_metrics",
    "tracking_uri",
]

_SCOPE = "https://management.azure.com/.default"
#: azure-ai-ml's logger that says where ``jobs.download`` puts each output (at INFO).
_DOWNLOAD_LOGGER = "azure.ai.ml.operations._job_operations"


def tracking_uri(ws: Workspace) -> str:
    """The workspace's MLflow tracking URI in REST form (``https://...``), asked once."""
    cached: str | None = getattr(ws, "_azureml_tracking_uri", None)
    if cached:
        return cached
    uri = settings(ws).mlflow_tracking_uri
    if not uri:
        try:
            found = client_for(ws).workspaces.get(scope_of(ws).workspace_name)
        except Exception as exc:
            raise translate(exc, action="read the workspace's MLflow tracking URI", ws=ws) from exc
        uri = str(found.mlflow_tracking_uri or "")
    uri = "https://" + uri.split("://", 1)[1] if uri.startswith("azureml://") else uri
    ws._azureml_tracking_uri = uri  # type: ignore[attr-defined]
    return uri


def _token(ws: Workspace) -> str:
    return str(credential_for(ws).get_token(_SCOPE).token)


def read_metrics(ws: Workspace, run_id: str) -> Metrics:
    """The metrics the job logged (its MLflow run id is the job name), in the common schema.

    Native names (Designer's Evaluate Model, AutoML) go through
    :meth:`cloudml_edu.metrics.Metrics.from_native`.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.store.tracking.rest_store import RestStore
    from mlflow.utils.rest_utils import MlflowHostCreds

    from cloudml_edu.records.metrics import Metrics

    uri, token = tracking_uri(ws), _token(ws)
    store = RestStore(lambda: MlflowHostCreds(uri, token=token))  # type: ignore[no-untyped-call]
    try:
        found = store.get_run(run_id)  # type: ignore[no-untyped-call]
    except MlflowException as exc:
        raise NotFoundError(
            f"no MLflow run {run_id} in the workspace's tracking store ({exc.error_code}); the "
            "job may not have logged anything: open it in the studio"
        ) from exc
    try:
        return Metrics.from_native(dict(found.data.metrics))
    except ValueError as exc:  # BackendError (no usable accuracy) goes through as it is
        raise BackendError(f"job {run_id} logged metrics the library cannot read: {exc}") from exc


def download_output(ws: Workspace, job: str, output: str, dest: Path) -> Path | None:
    """Download job ``job``'s ``output`` folder into ``dest``; None when the job has no such
    output (a job built by hand in the studio).

    ``jobs.download`` resolves the output's datastore path through run history and
    reads its blobs.  Every file must lie inside the folder (no link, no ``..``).
    """
    with silenced_info(_DOWNLOAD_LOGGER):
        try:
            client_for(ws).jobs.download(job, download_path=str(dest), output_name=output)
        except Exception as exc:
            raise translate(exc, action=f"download output {output} of job {job}", ws=ws) from exc
    folder = dest / "named-outputs" / output
    files = [p for p in folder.rglob("*") if not p.is_dir()] if folder.is_dir() else []
    for path in files:
        resolve_under(folder, str(path.relative_to(folder)), source=f"output {output} of job {job}")
    return folder if files else None


def metrics_in(folder: Path, *, job: str) -> Metrics:
    """The full metrics (labels, confusion matrix, per-class report) a job wrote to ``folder``."""
    from pydantic import ValidationError

    from cloudml_edu.records.metrics import ARTIFACT_NAME, Metrics

    found = folder / ARTIFACT_NAME
    if not found.is_file():
        raise BackendError(
            f"job {job} wrote no {ARTIFACT_NAME} to its output; open the job in the studio for "
            "its logs"
        )
    try:
        return Metrics.model_validate_json(found.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError) as exc:
        raise BackendError(
            f"job {job} wrote a {ARTIFACT_NAME} the library cannot read ({exc}); was it written "
            "by another cloudml-edu version? Open the job in the studio"
        ) from exc


def job_details(ws: Workspace, name: str) -> dict[str, Any]:
    """Run history's view of a job: ``startTimeUtc``, ``endTimeUtc``, ``error`` ({} if unreadable).

    ``jobs.get`` does not carry the job's error or its real start and end; run
    history (what ``jobs.stream`` reads) does.
    """
    import requests

    base = tracking_uri(ws).split("/mlflow/", 1)[0]
    url = f"{base}/history/v1.0{scope_of(ws).arm_id}/runs/{name}/details"
    try:
        answer = requests.get(
            url, headers={"Authorization": f"Bearer {_token(ws)}"}, timeout=ws.config.timeouts.pair
        )
    except requests.RequestException:
        return {}
    if not answer.ok:
        return {}
    payload: dict[str, Any] = answer.json()
    return payload


def error_of(details: dict[str, Any]) -> str:
    """The error message in run-history details ('' when there is none), with the next step
    when Azure refused to read the data with the student's identity."""
    error = (details.get("error") or {}).get("error") or {}
    message = str(error.get("message", ""))
    if "AuthorizationPermissionMismatch" in message:
        message += (
            " The job reads data with your identity: ask the storage account's admin for the "
            "Storage Blob Data Reader role on it (`cloudml-edu doctor` checks it)."
        )
    return message
