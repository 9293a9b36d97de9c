"""Azure ML CLI v2 YAML for a plan: the job (designer: and its six components), the data
asset, the compute cluster, the endpoint and its deployment.

Each document is the ``_to_dict()`` of the very azure-ai-ml object ``fit`` or
``deploy`` would send, so ``az ml job create -f job.yml`` runs what ``fit`` runs,
and ``load_job``, ``load_component``, ``load_online_endpoint`` and
``load_online_deployment`` read the files back.  Nothing here sends a request.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cloudml_edu.backends.azureml import assets, entities

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.workspace import Workspace

__all__ = ["SCHEMAS", "plan_files"]

_SCHEMA_ROOT = "https://azuremlschemas.azureedge.net/latest/"
#: File name -> the JSON schema the Azure ML CLI validates it against.
SCHEMAS = {
    "data.yml": _SCHEMA_ROOT + "data.schema.json",
    "compute.yml": _SCHEMA_ROOT + "amlCompute.schema.json",
    "endpoint.yml": _SCHEMA_ROOT + "managedOnlineEndpoint.schema.json",
    "deployment.yml": _SCHEMA_ROOT + "managedOnlineDeployment.schema.json",
}
_JOB_SCHEMAS = {
    "command": _SCHEMA_ROOT + "commandJob.schema.json",
    "pipeline": _SCHEMA_ROOT + "pipelineJob.schema.json",
}


def plan_files(
    ws: Workspace, dataset: Dataset, job: Any, *, endpoint: str, summary: str, serving_price: str
) -> dict[str, str]:
    """The YAML documents of a plan, by relative path.

    ``summary`` (what the job costs) heads ``job.yml``, ``serving_price`` (the
    endpoint's hourly price) heads ``deployment.yml``.
    """
    built = job._to_job() if hasattr(job, "_to_job") else job
    body = _plain(built._to_dict())
    body.pop("name", None)  # the CLI names the job; fit names it <owner>_<backend>_<id>
    files: dict[str, str] = {}
    for node_name, node in (body.get("jobs") or {}).items():  # designer: one file per component
        component = node.pop("component")
        path = f"components/{node_name}.yml"
        files[path] = _dump(component, header=[f"step {node_name} of the designer pipeline"])
        node["component"] = f"./{path}"
    endpoint_model = f"azureml:{endpoint}@latest"
    steps = [
        "az ml data create -f data.yml",
        *([] if _serverless(ws) else ["az ml compute create -f compute.yml"]),
        "az ml job create -f job.yml --web",
        f"az ml model create --name {endpoint} --type mlflow_model "
        "--path azureml://jobs/<job name>/outputs/artifacts/paths/model/",
        "az ml online-endpoint create -f endpoint.yml",
        "az ml online-deployment create -f deployment.yml --all-traffic",
    ]
    files["job.yml"] = _dump(
        {"$schema": _JOB_SCHEMAS[str(body["type"])], **body},
        header=[summary, "Run it by hand with the Azure CLI's ml extension, from this folder:"]
        + [f"  {s}" for s in steps],
    )
    files["data.yml"] = _document("data.yml", assets.data_entity(ws, dataset))
    if not _serverless(ws):
        files["compute.yml"] = _document("compute.yml", assets.cluster_entity(ws))
    files["endpoint.yml"] = _document("endpoint.yml", entities.endpoint_entity(ws, endpoint))
    files["deployment.yml"] = _document(
        "deployment.yml",
        entities.deployment_entity(ws, endpoint=endpoint, model=endpoint_model),
        header=[
            f"serves the latest version of model {endpoint}: register the job's model first",
            f"billed while the endpoint exists: {serving_price}",
        ],
    )
    return files


def _serverless(ws: Workspace) -> bool:
    return bool(ws.config.azure_ml is not None and ws.config.azure_ml.serverless)


def _document(name: str, entity: Any, *, header: list[str] | None = None) -> str:
    return _dump({"$schema": SCHEMAS[name], **_plain(entity._to_dict())}, header=header or [])


def _plain(value: Any) -> dict[str, Any]:
    """Plain dicts (azure-ai-ml returns OrderedDicts) without empty members."""
    data: dict[str, Any] = json.loads(json.dumps(value))
    return {k: v for k, v in data.items() if v not in ({}, [], None)}


def _dump(document: dict[str, Any], *, header: list[str]) -> str:
    import yaml

    comments = "".join(f"# {line}\n" for line in ["Written by cloudml-edu.", *header])
    text: str = yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)
    return comments + text
