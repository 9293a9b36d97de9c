"""Job outputs as Azure ML keeps them: blobs on the default datastore, found through run history.

A step's output folders are uploaded when it completes, to the default path
Azure ML gives an output (``azureml/<job>/<output>/`` on ``workspaceblobstore``).
``jobs.download(job, output_name=...)`` finds them as the service answers it:
run history's ``rundata`` lists the job's outputs as data asset ids, and the data
plane's ``batchGetResolvedUris`` turns an id into the ``azureml://...`` path the
SDK then lists and reads from blob storage.  A pipeline's output is the node
output bound to it (``${{parent.outputs.<name>}}``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from cloudml_edu.testing._http import Reply, SentRequest, json_reply

if TYPE_CHECKING:
    from cloudml_edu.testing.azure_ml import FakeAzureML
    from cloudml_edu.testing.azure_ml.runner import StepRun

__all__ = ["OutputDataService", "publish", "run_outputs"]

#: The container behind the default datastore (``workspaceblobstore``).
CONTAINER = "azureml-blobstore"
#: A run history output type per ``jobOutputType`` (data outputs are lower-case, as the SDK reads).
_RUN_OUTPUT_TYPES = {
    "uri_folder": "uri_folder",
    "uri_file": "uri_file",
    "mlflow_model": "MLFlowModel",
}
_ASSET = re.compile(r"/data/azureml_(.+)_output_data_([A-Za-z0-9_]+)/versions/1$")
_PARENT_OUTPUT = re.compile(r"\$\{\{parent\.outputs\.([A-Za-z0-9_]+)\}\}")


def publish(fake: FakeAzureML, step: StepRun) -> None:
    """Upload a completed step's output folders to their default datastore path."""
    for output, folder in step.outputs.items():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{CONTAINER}/{_output_path(step.name, output)}{path.relative_to(folder)}"
            fake.blobs[key] = path.read_bytes()


def _output_path(run: str, output: str) -> str:
    return f"azureml/{run}/{output}/"


class _Output(NamedTuple):
    """Where one output of a run is: the step whose folder holds it, under which name."""

    step: StepRun | None
    name: str
    kind: str  # its jobOutputType

    @property
    def published(self) -> bool:
        return (
            self.step is not None
            and self.step.status == "Completed"
            and self.name in self.step.outputs
        )


def run_outputs(fake: FakeAzureML, run_id: str) -> dict[str, dict[str, str]]:
    """Run history's ``outputs`` of a job or step: the published ones, as asset references."""
    return {
        name: {
            "assetId": _asset_id(fake, run_id, name),
            "type": _RUN_OUTPUT_TYPES.get(where.kind, "uri_folder"),
        }
        for name, where in _declared(fake, run_id).items()
        if where.published
    }


def _declared(fake: FakeAzureML, run_id: str) -> dict[str, _Output]:
    """Each output of job or step ``run_id``, by the name the run declares it under."""
    script = fake.scripts.get(run_id)
    if run_id in fake.jobs and script is not None:
        props = fake.jobs[run_id].get("properties", {})
        outputs: dict[str, Any] = props.get("outputs") or {}
        kinds = {k: str((v or {}).get("jobOutputType", "")) for k, v in outputs.items()}
        if props.get("jobType") != "Pipeline":
            return {k: _Output(script.step(run_id), k, kind) for k, kind in kinds.items()}
        bound: dict[str, _Output] = {}
        for node, spec in (props.get("jobs") or {}).items():
            for node_output, value in (spec.get("outputs") or {}).items():
                parent = _PARENT_OUTPUT.fullmatch(str((value or {}).get("value", "")))
                if parent and parent.group(1) in kinds:
                    step = script.step(f"{run_id}_{node}")
                    bound[parent.group(1)] = _Output(step, node_output, kinds[parent.group(1)])
        return bound
    for job, script in fake.scripts.items():
        step = script.step(run_id)
        if step is not None:  # a pipeline's step: its outputs' types are its component's
            node = (fake.jobs[job].get("properties", {}).get("jobs") or {}).get(step.node, {})
            spec = fake.component_spec(str(node.get("componentId", "")))
            declared = spec.get("outputs") or {}
            return {
                k: _Output(step, k, str((declared.get(k) or {}).get("type", "uri_folder")))
                for k in step.outputs
            }
    return {}


def _asset_id(fake: FakeAzureML, run_id: str, output: str) -> str:
    workspace_id = fake.workspace_body()["properties"]["workspaceId"]
    return (
        f"azureml://locations/{fake.region}/workspaces/{workspace_id}"
        f"/data/azureml_{run_id}_output_data_{output}/versions/1"
    )


class OutputDataService:
    """``/data/v1.0/.../dataversion/batchGetResolvedUris``: output asset ids -> datastore paths."""

    def __init__(self, fake: FakeAzureML) -> None:
        self.fake = fake

    def claims(self, request: SentRequest) -> bool:
        return request.url.startswith(f"{self.fake.service_host}/data/v1.0/")

    def answer(self, request: SentRequest) -> Reply:
        fake = self.fake
        if not request.path.endswith("/dataversion/batchGetResolvedUris"):
            return fake.error(404, "NotFound", f"the fake does not serve {request.path}")
        values: dict[str, dict[str, str]] = {}
        for asset_id in (request.body or {}).get("values") or []:
            uri = self._resolve(str(asset_id))
            if uri is None:
                return fake.error(404, "UserError", f"data asset {asset_id} was not found")
            values[str(asset_id)] = {"uri": uri, "type": "uri_folder"}
        return json_reply(200, {"values": values})

    def _resolve(self, asset_id: str) -> str | None:
        """The long-form datastore URI of an output asset id (None: no such published output)."""
        fake = self.fake
        found = _ASSET.search(asset_id)
        if found is None:
            return None
        run_id, output = found.groups()
        where = _declared(fake, run_id).get(output)
        if where is None or not where.published or where.step is None:
            return None
        return (
            f"azureml://subscriptions/{fake.subscription_id}/resourcegroups/{fake.resource_group}"
            f"/workspaces/{fake.workspace_name}/datastores/workspaceblobstore/paths/"
            + _output_path(where.step.name, where.name)
        )
