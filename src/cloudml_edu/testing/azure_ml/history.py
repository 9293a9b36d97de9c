"""``<region>.api.azureml.ms``: discovery, run history (details, children, run data) and MLflow REST.

The MLflow routes answer from the same :class:`~.tracking.TrackingStore` the jobs
logged to, so ``mlflow.get_run(job)`` returns what the job's code logged.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cloudml_edu.testing._http import Reply, SentRequest, json_reply
from cloudml_edu.testing.azure_ml.outputs import run_outputs

if TYPE_CHECKING:
    from cloudml_edu.testing.azure_ml import FakeAzureML

__all__ = ["RunHistoryService"]

_RUN = re.compile(r"/runs/([^/]+)/(children|details)$")


class RunHistoryService:
    """Discovery, ``/history/v1.0/.../runs/<id>/(details|children)`` and ``/mlflow/v1.0/...``."""

    def __init__(self, fake: FakeAzureML) -> None:
        self.fake = fake

    def claims(self, request: SentRequest) -> bool:
        return request.url.startswith(self.fake.service_host)

    def answer(self, request: SentRequest) -> Reply:
        fake, path = self.fake, request.path
        if path == "/discovery":
            host = fake.service_host
            names = ("api", "catalog", "experimentation", "history", "mms")
            return json_reply(200, {name: host for name in names})
        if "/mlflow/" in path:
            status, payload = fake.tracking.handle(
                request.method, path, request.query, request.body
            )
            if payload is None:
                return status, {}, b""
            return json_reply(status, payload)
        if request.method == "POST" and path.endswith("/rundata"):
            return self._run_data(str((request.body or {}).get("runId", "")))
        match = _RUN.search(path)
        if match is None:
            return fake.error(404, "NotFound", f"the fake does not serve {path}")
        run_id, what = match.groups()
        if what == "children":
            if run_id not in fake.jobs:
                return fake.error(404, "NotFound", f"run {run_id} was not found")
            children = [self._child(run_id, c) for c in fake.step_names(run_id)]
            return json_reply(200, {"value": children})
        return self._details(run_id)

    def _run_data(self, run_id: str) -> Reply:
        """``POST .../rundata``: the run's metadata with its outputs (what ``jobs.download`` asks)."""
        fake = self.fake
        found = fake.run_of(run_id)
        if found is None:
            return fake.error(404, "NotFound", f"run {run_id} was not found")
        metadata = {"runId": run_id, "status": found[0], "outputs": run_outputs(fake, run_id)}
        return json_reply(200, {"runMetadata": metadata})

    def _details(self, run_id: str) -> Reply:
        fake = self.fake
        found = fake.run_of(run_id)
        if found is None:
            return fake.error(404, "NotFound", f"run {run_id} was not found")
        status, started, ended, error = found
        details: dict[str, Any] = {"runId": run_id, "status": status}
        if started is not None:
            details["startTimeUtc"] = started.isoformat()
        if ended is not None:
            details["endTimeUtc"] = ended.isoformat()
        if error:
            details["error"] = {"error": {"code": "UserError", "message": error}}
        return json_reply(200, details)

    def _child(self, parent: str, child: str) -> dict[str, Any]:
        fake = self.fake
        node = child[len(parent) + 1 :]
        nodes = fake.jobs[parent].get("properties", {}).get("jobs", {}) or {}
        status, started, ended, _ = fake.run_of(child) or ("NotStarted", None, None, "")
        run: dict[str, Any] = {
            "runId": child,
            "parentRunId": parent,
            "rootRunId": parent,
            "displayName": (nodes.get(node) or {}).get("displayName") or node,
            "status": status,
            "runType": "azureml.StepRun",
            "properties": {"azureml.nodeid": node},
            "tags": {},
            "experimentId": "exp",
        }
        if started is not None:
            run["startTimeUtc"] = started.isoformat()
        if ended is not None:
            run["endTimeUtc"] = ended.isoformat()
        return run
