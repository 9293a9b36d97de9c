"""A fake Azure ML workspace at the HTTP boundary, for offline tests of code that uses Azure ML.

The real ``azure-ai-ml`` client runs; ``responses`` answers its HTTP requests
(ARM resources, the code-snapshot upload to blob storage, run history, the
MLflow REST API and scoring URIs) from an in-memory workspace.  Faking HTTP,
not SDK classes, keeps tests working across SDK upgrades.

>>> with FakeAzureML(root=tmp_path) as fake:  # doctest: +SKIP
...     fake.script_job(statuses=["Running", "Failed"], error="out of memory")
...     Trainer("sdk", workspace=fake.workspace).fit(ds)

Every request is recorded in :attr:`FakeAzureML.requests`; job bodies as PUT
are in :attr:`FakeAzureML.jobs`.  A request to an address the fake does not
serve fails (no network is ever used); plain ``http://127.0.0.1`` passes through
(Azurite, local model servers).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from cloudml_edu.testing._http import proto_double

if TYPE_CHECKING:
    import responses
    from requests import PreparedRequest

    from cloudml_edu.workspace import Workspace

__all__ = ["FakeAzureML", "FakeCredential", "JobScript", "SentRequest"]

Reply = tuple[int, dict[str, str], str | bytes]

DEFAULT_METRICS: dict[str, float] = {
    "accuracy": 0.9,
    "precision_macro": 0.9,
    "recall_macro": 0.9,
    "f1_macro": 0.9,
    "precision_weighted": 0.9,
    "recall_weighted": 0.9,
    "f1_weighted": 0.9,
    "log_loss": 0.3,
    "n_train": 40.0,
    "n_test": 10.0,
    "train_seconds": 0.5,
}
TERMINAL = ("Completed", "Failed", "Canceled", "NotResponding")
#: The primary key of every fake online endpoint.
ENDPOINT_KEY = "fake-primary-key"
#: The steps of a small pipeline built by hand in the Designer canvas.
CANVAS_STEPS = ["Import Data", "Split Data", "Train Model", "Score Model", "Evaluate Model"]


def _fake_jwt(audience: str = "https://management.azure.com") -> str:
    """An unsigned JWT with the claims azure-ai-ml reads (audience, tenant): valid nowhere."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {
        "oid": "22222222-3333-4444-8555-666666666666",
        "tid": "33333333-4444-4555-8666-777777777777",
        "upn": "student@example.edu",
        "exp": 4102444800,
        "aud": audience,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.fake"


class FakeCredential:
    """A ``TokenCredential`` that hands out a fixed token and never touches the network."""

    token = _fake_jwt()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """A token whose audience is the first scope's resource."""
        from azure.core.credentials import AccessToken

        audience = scopes[0].removesuffix("/.default") if scopes else ""
        token = _fake_jwt(audience) if audience else self.token
        return AccessToken(token, int(time.time()) + 3600)


@dataclass(frozen=True)
class SentRequest:
    """One request the client sent: method, URL, path, query and parsed JSON body."""

    method: str
    url: str
    path: str
    query: dict[str, str]
    body: Any
    size: int
    at: float = field(default_factory=time.monotonic)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class JobScript:
    """How a job will go: the statuses ``jobs.get`` reports in turn, its metrics, its error."""

    statuses: list[str] = field(default_factory=lambda: ["Queued", "Running", "Completed"])
    metrics: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_METRICS))
    error: str | None = None
    seen: int = 0
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: datetime | None = None
    ended: datetime | None = None

    def advance(self) -> str:
        """The status of the next ``jobs.get``."""
        status = self.statuses[min(self.seen, len(self.statuses) - 1)]
        self.seen += 1
        now = datetime.now(UTC)
        if status == "Running" and self.started is None:
            self.started = now
        if status in TERMINAL and self.ended is None:
            self.started = self.started or now - timedelta(minutes=3)
            self.ended = self.started + timedelta(minutes=3)
        return status

    @property
    def status(self) -> str:
        return self.statuses[max(min(self.seen - 1, len(self.statuses) - 1), 0)]


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    code: str
    message: str
    headers: dict[str, str]


class FakeAzureML:
    """An in-memory Azure ML workspace answering the real azure-ai-ml client through ``responses``."""

    def __init__(
        self,
        *,
        root: str | Path | None = None,
        owner: str = "student",
        subscription_id: str = "00000000-0000-4000-8000-000000000000",
        resource_group: str = "rg-course",
        workspace_name: str = "ws-course",
        region: str = "eastus",
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.owner = owner
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        self.region = region
        self.arm_id = (
            f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace_name}"
        )
        self.service_host = f"https://{region}.api.azureml.ms"
        self.storage_account = "fakeamlstore"
        self.requests: list[SentRequest] = []
        self.jobs: dict[str, dict[str, Any]] = {}  # as PUT by the client, or added by add_job
        self.resources: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.scripts: dict[str, JobScript] = {}
        self.predictions: Callable[[dict[str, Any]], Any] | None = None
        self.deployment_logs = ""
        self._deployment_states: list[list[str]] = []
        self._rollouts: dict[str, list[str]] = {}
        self._next_scripts: list[JobScript] = []
        self._faults: list[_Fault] = []
        self._mock: responses.RequestsMock | None = None
        self._workspace: Workspace | None = None
        self.credential = FakeCredential()

    # ---- scripting ---------------------------------------------------------
    def script_job(
        self,
        name: str | None = None,
        *,
        statuses: list[str] | None = None,
        metrics: dict[str, float] | None = None,
        error: str | None = None,
    ) -> JobScript:
        """Decide how job ``name`` (default: the next job submitted) goes."""
        script = JobScript()
        if statuses is not None:
            script.statuses = list(statuses)
        if metrics is not None:
            script.metrics = dict(metrics)
        if error is not None:
            script.error = error
            if statuses is None:
                script.statuses = ["Queued", "Running", "Failed"]
        if name is None:
            self._next_scripts.append(script)
        else:
            self.scripts[name] = script
        return script

    def add_compute(
        self,
        name: str,
        *,
        vm_size: str = "Standard_DS3_v2",
        tags: dict[str, str] | None = None,
        nodes: int = 0,
    ) -> dict[str, Any]:
        """A compute cluster that exists already (made in the studio), with ``nodes`` busy."""
        body = {
            "location": self.region,
            "tags": dict(tags or {}),
            "properties": {
                "computeType": "AmlCompute",
                "properties": {
                    "vmSize": vm_size,
                    "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 2},
                    "currentNodeCount": nodes,
                },
            },
        }
        return self._store(f"computes/{name}", body)

    def add_job(
        self,
        name: str,
        *,
        steps: list[str] | None = None,
        command: str | None = None,
        compute: str = "cpu-cluster",
        vm_size: str = "Standard_DS3_v2",
        experiment: str = "designer-lab",
        inputs: dict[str, str] | None = None,
        statuses: list[str] | None = None,
        metrics: dict[str, float] | None = None,
        error: str | None = None,
    ) -> JobScript:
        """A job built by hand in the studio: a Designer pipeline of ``steps`` (display
        names, e.g. ``"Evaluate Model"``), or a command job when ``command`` is given.

        Its compute exists (``vm_size``); ``inputs`` maps input names to data asset ids.
        """
        if f"computes/{compute}" not in self.resources:
            self.add_compute(compute, vm_size=vm_size)
        compute_id = f"{self.arm_id}/computes/{compute}"
        props: dict[str, Any] = {
            "displayName": name.replace("_", " "),
            "experimentName": experiment,
            "inputs": {
                k: {"jobInputType": "uri_folder", "uri": v} for k, v in (inputs or {}).items()
            },
            "tags": {},
        }
        if command is not None:
            props.update(
                jobType="Command",
                command=command,
                computeId=compute_id,
                environmentId="azureml://registries/azureml/environments/sklearn-1.5/versions/1",
                resources={"instanceCount": 1},
            )
        else:
            props.update(
                jobType="Pipeline",
                settings={"default_compute": compute_id},
                jobs={_slug(step): _canvas_node(step) for step in steps or CANVAS_STEPS},
            )
        self.jobs[name] = {"properties": props}
        script = self.script_job(
            name, statuses=statuses or ["Completed"], metrics=metrics, error=error
        )
        now = datetime.now(UTC)  # built 4 minutes ago; a finished one ran for the last 3
        script.created = now - timedelta(minutes=4)
        if script.statuses[0] in TERMINAL:
            script.started, script.ended = now - timedelta(minutes=3), now
        return script

    def script_deployment(self, states: list[str], *, logs: str = "") -> None:
        """The provisioning states the next deployment reports in turn (GETs), and its log."""
        self._deployment_states.append(list(states))
        self.deployment_logs = logs

    @property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Online endpoint bodies as stored, by name."""
        return {
            k.split("/")[1]: v
            for k, v in self.resources.items()
            if k.startswith("onlineEndpoints/") and k.count("/") == 1
        }

    def fail(
        self,
        method: str,
        path_pattern: str,
        status: int,
        *,
        times: int = 1,
        code: str = "",
        message: str = "scripted failure",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests whose path matches ``path_pattern`` with ``status``."""
        self._faults.append(
            _Fault(
                method.upper(),
                re.compile(path_pattern),
                status,
                times,
                code
                or {401: "AuthenticationFailed", 404: "NotFound", 429: "TooManyRequests"}.get(
                    status, "ServiceError"
                ),
                message,
                dict(headers or {}),
            )
        )

    # ---- what was sent -----------------------------------------------------
    def sent(self, method: str | None = None, contains: str = "") -> list[SentRequest]:
        """The requests sent so far, optionally one method's and those whose URL contains a text."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and contains in r.url
        ]

    @property
    def uploaded_bytes(self) -> int:
        """Bytes sent to blob storage in PUT requests (code snapshots, data)."""
        return sum(
            r.size
            for r in self.requests
            if r.method == "PUT" and ".blob.core.windows.net" in r.url and "comp=" not in r.url
        )

    # ---- the workspace -----------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        """A :class:`~cloudml_edu.Workspace` whose ``[azure_ml]`` points at this fake."""
        if self._workspace is None:
            from cloudml_edu.backends.azureml.connection import use_credential
            from cloudml_edu.config import CloudMLConfig
            from cloudml_edu.workspace import Workspace

            root = self.root if self.root is not None else Path(".cloudml-fake-azureml")
            config = CloudMLConfig.model_validate(
                {
                    "owner": self.owner,
                    "root": root,
                    "azure_ml": {
                        "subscription_id": self.subscription_id,
                        "resource_group": self.resource_group,
                        "workspace_name": self.workspace_name,
                        "retry_backoff": 0.0,
                    },
                }
            )
            self._workspace = Workspace(config)
            use_credential(self._workspace, self.credential)
        return self._workspace

    # ---- lifecycle ---------------------------------------------------------
    def start(self) -> FakeAzureML:
        import responses

        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        mock.add_passthru(re.compile(r"http://(127\.0\.0\.1|localhost)[:/]"))
        for method in ("GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"):
            mock.add_callback(method, re.compile(r"https://.*"), callback=self._handle)
        mock.start()
        self._mock = mock
        return self

    def stop(self) -> None:
        if self._mock is not None:
            _join_sdk_pollers(timeout=LRO_JOIN_SECONDS)
            self._mock.stop()
            self._mock.reset()
            self._mock = None

    def __enter__(self) -> FakeAzureML:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- dispatch ----------------------------------------------------------
    def _handle(self, request: PreparedRequest) -> Reply:
        url = str(request.url)
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        raw: Any = request.body
        if hasattr(raw, "read"):
            raw = raw.read()
        data: bytes = raw.encode() if isinstance(raw, str) else bytes(raw or b"")
        body: Any = None
        if data and "json" in str(request.headers.get("Content-Type", "")):
            try:
                body = json.loads(data)
            except ValueError:
                body = None
        method = str(request.method)
        headers = {str(k): str(v) for k, v in request.headers.items()}
        self.requests.append(
            SentRequest(method, url, parts.path, query, body, len(data), headers=headers)
        )
        for fault in self._faults:
            if fault.times > 0 and fault.method == method and fault.pattern.search(parts.path):
                fault.times -= 1
                return self._error(fault.status, fault.code, fault.message, fault.headers)
        host = parts.hostname or ""
        if host == "management.azure.com":
            return self._arm(method, parts.path, query, body)
        if host.endswith(".blob.core.windows.net"):
            return self._blob(method, parts.path, query, data, request)
        if host.endswith(".inference.ml.azure.com"):
            return self._score(host, body, str(request.headers.get("Authorization", "")))
        if url.startswith(self.service_host):
            return self._service(method, parts.path, query)
        return self._error(404, "NoSuchHost", f"the fake Azure ML does not serve {host}")

    @staticmethod
    def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload)

    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Reply:
        payload = {"error": {"code": code, "message": message}}
        return self._json(status, payload, {"x-ms-error-code": code, **(headers or {})})

    # ---- ARM: management.azure.com ---------------------------------------------
    def _arm(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        if not path.lower().startswith(self.arm_id.lower()):
            return self._error(404, "ResourceNotFound", f"no workspace at {path}")
        rest = path[len(self.arm_id) :]
        if rest == "":
            return self._json(200, self._workspace_body())
        segments = rest.strip("/").split("/")
        kind = segments[0]
        if kind == "jobs":
            return self._jobs(method, segments, body)
        if kind == "codes" and segments[-1] == "versions" and "hash" in query:
            return self._codes_by_hash(segments[1], query["hash"])
        if segments[-1] == "startPendingUpload":
            return self._pending_upload(segments)
        if kind == "onlineEndpoints" and segments[-1] == "listKeys":
            return self._json(200, {"primaryKey": ENDPOINT_KEY, "secondaryKey": "fake-2"})
        if kind == "onlineEndpoints" and segments[-1] == "getLogs":
            return self._json(200, {"content": self.deployment_logs})
        if kind == "computes" and segments[-1] == "listNodes":
            compute = self.resources.get("/".join(segments[:2]), {})
            busy = compute.get("properties", {}).get("properties", {}).get("currentNodeCount", 0)
            nodes = [{"nodeId": f"node-{i}", "nodeState": "running"} for i in range(busy)]
            return self._json(200, {"nodes": nodes})
        if kind == "onlineEndpoints" and len(segments) == 4 and method == "GET":
            return self._deployment(segments)
        if kind == "datastores":
            return self._datastores(segments)
        key = "/".join(segments)
        if method == "PUT":
            return self._json(201, self._store(key, body))
        if method == "GET":
            if key in self.resources:
                return self._json(200, self.resources[key])
            if len(segments) % 2 == 1:  # a collection
                prefix = key + "/"
                items = [
                    v
                    for k, v in self.resources.items()
                    if k.startswith(prefix) and "/" not in k[len(prefix) :]
                ]
                return self._json(200, {"value": items})
            return self._error(404, "UserError", f"{kind} {segments[1]} was not found")
        if method == "DELETE":
            gone = self.resources.pop(key, None)
            for child in [k for k in self.resources if k.startswith(key + "/")]:
                del self.resources[child]
            return (200 if gone is not None else 204), {}, ""
        return self._error(405, "MethodNotAllowed", f"{method} {key}")

    def _store(self, key: str, body: Any) -> dict[str, Any]:
        segments = key.split("/")
        stored: dict[str, Any] = json.loads(json.dumps(body or {}))
        stored["id"] = f"{self.arm_id}/{key}"
        stored["name"] = segments[-1]
        stored.setdefault("properties", {})
        props = stored["properties"]
        props["provisioningState"] = "Succeeded"
        if segments[0] == "onlineEndpoints" and len(segments) == 2:
            props["scoringUri"] = (
                f"https://{segments[1]}.{self.region}.inference.ml.azure.com/score"
            )
            props.setdefault("traffic", {})
        if segments[0] == "computes":
            props.setdefault("properties", {})
        if segments[0] == "models":  # the service reads MLmodel: an MLflow model has flavors
            props.setdefault("flavors", {"python_function": {"data": {"loader_module": "mlflow"}}})
        if segments[0] == "onlineEndpoints" and len(segments) == 4:  # a deployment
            states = self._deployment_states.pop(0) if self._deployment_states else ["Succeeded"]
            self._rollouts[key] = list(states)
            props["provisioningState"] = states[0]
            props.setdefault("scaleSettings", {"scaleType": "Default"})
        now = datetime.now(UTC).isoformat()
        created = self.resources.get(key, {}).get("systemData", {}).get("createdAt", now)
        stored["systemData"] = {
            "createdAt": created,
            "createdBy": "student@example.edu",
            "lastModifiedAt": now,
        }
        if segments[0] == "onlineEndpoints":
            props.setdefault("properties", {})
        self.resources[key] = stored
        return stored

    def _deployment(self, segments: list[str]) -> Reply:
        """A deployment's GET: its next scripted provisioning state."""
        key = "/".join(segments)
        if key not in self.resources:
            return self._error(404, "UserError", f"deployment {segments[3]} was not found")
        states = self._rollouts.get(key) or ["Succeeded"]
        state = states.pop(0) if len(states) > 1 else states[0]
        self.resources[key]["properties"]["provisioningState"] = state
        return self._json(200, self.resources[key])

    def _workspace_body(self) -> dict[str, Any]:
        return {
            "id": self.arm_id,
            "name": self.workspace_name,
            "location": self.region,
            "kind": "Default",
            "properties": {
                "discoveryUrl": f"{self.service_host}/discovery",
                "mlFlowTrackingUri": f"azureml://{self.region}.api.azureml.ms/mlflow/v1.0"
                + self.arm_id,
                "workspaceId": "11111111-2222-4333-8444-555555555555",
                "storageAccount": f"/subscriptions/{self.subscription_id}/resourceGroups/"
                f"{self.resource_group}/providers/Microsoft.Storage/storageAccounts/"
                + self.storage_account,
            },
        }

    def _codes_by_hash(self, name: str, wanted: str) -> Reply:
        found = [
            v
            for k, v in self.resources.items()
            if k.startswith("codes/")
            and v.get("properties", {}).get("properties", {}).get("hash_sha256") == wanted
        ]
        return self._json(200, {"value": found[:1]})

    def _pending_upload(self, segments: list[str]) -> Reply:
        folder = f"https://{self.storage_account}.blob.core.windows.net/code-{segments[1]}"
        return self._json(
            200,
            {
                "blobReferenceForConsumption": {
                    "blobUri": folder,
                    "storageAccountArmId": "",
                    "credential": {"credentialType": "SAS", "sasUri": folder + "?sv=2024&sig=fake"},
                },
                "pendingUploadId": segments[1],
                "pendingUploadType": "TemporaryBlobReference",
            },
        )

    def _datastores(self, segments: list[str]) -> Reply:
        store = {
            "id": f"{self.arm_id}/datastores/workspaceblobstore",
            "name": "workspaceblobstore",
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": self.storage_account,
                "containerName": "azureml-blobstore",
                "endpoint": "core.windows.net",
                "protocol": "https",
                "isDefault": True,
                "credentials": {"credentialsType": "AccountKey"},
            },
        }
        if segments[-1] == "listSecrets":
            key = base64.b64encode(b"fake-account-key").decode()
            return self._json(200, {"secretsType": "AccountKey", "key": key})
        if len(segments) == 1:
            return self._json(200, {"value": [store]})
        return self._json(200, store)

    # ---- jobs ------------------------------------------------------------------
    def _jobs(self, method: str, segments: list[str], body: Any) -> Reply:
        if len(segments) == 1:
            return self._json(200, {"value": [self._job_view(n) for n in self.jobs]})
        name = segments[1]
        if method == "PUT":
            self.jobs[name] = body
            if name not in self.scripts:
                self.scripts[name] = (
                    self._next_scripts.pop(0) if self._next_scripts else JobScript()
                )
            return self._json(201, self._job_view(name, status="NotStarted"))
        if name not in self.jobs:
            return self._error(404, "UserError", f"job {name} was not found")
        if method == "POST" and segments[-1] == "cancel":
            script = self.scripts[name]
            script.statuses = [*script.statuses[: script.seen], "CancelRequested", "Canceled"]
            return 202, {"Location": f"https://management.azure.com{self.arm_id}/jobs/{name}"}, ""
        return self._json(200, self._job_view(name, status=self.scripts[name].advance()))

    def _job_view(self, name: str, *, status: str | None = None) -> dict[str, Any]:
        view: dict[str, Any] = json.loads(json.dumps(self.jobs[name]))
        view["id"] = f"{self.arm_id}/jobs/{name}"
        view["name"] = name
        props = view.setdefault("properties", {})
        props["status"] = status or self.scripts[name].status
        props["services"] = {
            "Studio": {
                "jobServiceType": "Studio",
                "endpoint": f"https://ml.azure.com/runs/{name}?wsid={self.arm_id}",
            }
        }
        script = self.scripts[name]
        view["systemData"] = {"createdAt": script.created.isoformat()}
        if script.started is not None:
            props.setdefault("properties", {})["StartTimeUtc"] = script.started.isoformat()
        if script.ended is not None:
            props.setdefault("properties", {})["EndTimeUtc"] = script.ended.isoformat()
        return view

    def step_names(self, parent: str) -> list[str]:
        """The child job names of pipeline job ``parent`` (``<parent>_<node>``)."""
        nodes = self.jobs.get(parent, {}).get("properties", {}).get("jobs", {}) or {}
        return [f"{parent}_{node}" for node in nodes]

    # ---- run history, MLflow, discovery: <region>.api.azureml.ms -----------------
    def _service(self, method: str, path: str, query: dict[str, str]) -> Reply:
        if path == "/discovery":
            return self._json(
                200,
                {
                    "api": self.service_host,
                    "catalog": self.service_host,
                    "experimentation": self.service_host,
                    "history": self.service_host,
                    "mms": self.service_host,
                },
            )
        if path.endswith("/api/2.0/mlflow/runs/get"):
            return self._mlflow_run(query.get("run_id", ""))
        match = re.search(r"/runs/([^/]+)/(children|details)$", path)
        if match is None:
            return self._error(404, "NotFound", f"the fake does not serve {path}")
        run_id, what = match.groups()
        parent = run_id if run_id in self.jobs else None
        if what == "children":
            if parent is None:
                return self._error(404, "NotFound", f"run {run_id} was not found")
            return self._json(
                200, {"value": [self._child_run(parent, c) for c in self.step_names(parent)]}
            )
        script = self._script_of(run_id)
        if script is None:
            return self._error(404, "NotFound", f"run {run_id} was not found")
        details: dict[str, Any] = {"runId": run_id, "status": script.status}
        if script.started is not None:
            details["startTimeUtc"] = script.started.isoformat()
        if script.ended is not None:
            details["endTimeUtc"] = script.ended.isoformat()
        if script.error:
            details["error"] = {"error": {"code": "UserError", "message": script.error}}
        return self._json(200, details)

    def _script_of(self, run_id: str) -> JobScript | None:
        if run_id in self.scripts:
            return self.scripts[run_id]
        for parent in self.jobs:
            if run_id in self.step_names(parent):
                return self.scripts[parent]
        return None

    def _child_run(self, parent: str, child: str) -> dict[str, Any]:
        node = child[len(parent) + 1 :]
        script = self.scripts[parent]
        nodes = self.jobs[parent].get("properties", {}).get("jobs", {}) or {}
        run: dict[str, Any] = {
            "runId": child,
            "parentRunId": parent,
            "rootRunId": parent,
            "displayName": (nodes.get(node) or {}).get("displayName") or node,
            "status": script.status,
            "runType": "azureml.StepRun",
            "properties": {"azureml.nodeid": node},
            "tags": {},
            "experimentId": "exp",
        }
        if script.started is not None:
            run["startTimeUtc"] = script.started.isoformat()
        if script.ended is not None:
            run["endTimeUtc"] = script.ended.isoformat()
        return run

    def _mlflow_run(self, run_id: str) -> Reply:
        script = self._script_of(run_id)
        if script is None:
            payload = {
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": f"run {run_id} not found",
            }
            return self._json(404, payload)
        now = int(time.time() * 1000)
        metrics = [
            {"key": k, "value": proto_double(v), "timestamp": now, "step": 0}
            for k, v in script.metrics.items()
        ]
        info = {
            "run_id": run_id,
            "run_uuid": run_id,
            "experiment_id": "1",
            "status": "FINISHED",
            "start_time": now,
            "artifact_uri": f"azureml://experiments/x/runs/{run_id}/artifacts",
            "lifecycle_stage": "active",
        }
        return self._json(200, {"run": {"info": info, "data": {"metrics": metrics}}})

    # ---- blob storage (code snapshots, data uploads) -------------------------------
    def _blob(
        self, method: str, path: str, query: dict[str, str], data: bytes, request: PreparedRequest
    ) -> Reply:
        key = path.lstrip("/")
        if query.get("comp") == "list":
            return self._blob_list(key, query.get("prefix", ""))
        if method == "PUT" and query.get("comp") == "metadata":
            return 200, {"ETag": '"1"', "Last-Modified": _http_date()}, b""
        if method == "PUT" and query.get("restype") == "container":
            return 201, {}, b""
        if method == "PUT":
            self.blobs[key] = data
            md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
            return 201, {"Content-MD5": md5, "ETag": '"1"', "Last-Modified": _http_date()}, b""
        if key not in self.blobs:
            headers = {"x-ms-error-code": "BlobNotFound"}
            return 404, headers, b"" if method == "HEAD" else b"BlobNotFound"
        blob = self.blobs[key]
        headers = {
            "Content-Length": str(len(blob)),
            "Content-MD5": base64.b64encode(hashlib.md5(blob).digest()).decode(),
            "x-ms-blob-type": "BlockBlob",
            "ETag": '"1"',
            "Last-Modified": _http_date(),
        }
        return 200, headers, b"" if method == "HEAD" else blob

    def _blob_list(self, container_path: str, prefix: str) -> Reply:
        container = container_path.split("/", 1)[0]
        names = sorted(
            k.split("/", 1)[1]
            for k in self.blobs
            if k.startswith(container + "/") and k.split("/", 1)[1].startswith(prefix)
        )
        items = "".join(
            f"<Blob><Name>{n}</Name><Properties><Content-Length>"
            f"{len(self.blobs[container + '/' + n])}</Content-Length>"
            "<BlobType>BlockBlob</BlobType></Properties><Metadata /></Blob>"
            for n in names
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="'
            f'{container}"><Prefix>{prefix}</Prefix><Blobs>{items}</Blobs><NextMarker />'
            "</EnumerationResults>"
        )
        return 200, {"Content-Type": "application/xml"}, xml

    # ---- scoring -------------------------------------------------------------------
    def _score(self, host: str, body: Any, authorization: str) -> Reply:
        endpoint = host.split(".", 1)[0]
        if f"onlineEndpoints/{endpoint}" not in self.resources:
            return self._error(404, "EndpointNotFound", f"no endpoint {endpoint}")
        if authorization != f"Bearer {ENDPOINT_KEY}":
            return self._error(401, "Unauthorized", "missing or wrong endpoint key")
        if self.predictions is not None:
            return self._json(200, self.predictions(body))
        rows = (body or {}).get("input_data", {}).get("data", [])
        return self._json(200, [{"label": "0", "score": 1.0, "p:0": 1.0} for _ in rows])


def _slug(text: str) -> str:
    return re.sub(r"\W+", "_", text.lower()).strip("_")


def _canvas_node(step: str) -> dict[str, Any]:
    """A Designer canvas node as the service returns it: a built-in component, a display name."""
    return {
        "type": "command",
        "name": _slug(step),
        "displayName": step,
        "componentId": f"azureml://registries/azureml/components/{_slug(step)}/versions/0.0.1",
    }


def _http_date() -> str:
    return datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


#: How long ``stop`` waits for azure-ai-ml's background LRO pollers (they poll every 5 s).
LRO_JOIN_SECONDS = 15.0


def _join_sdk_pollers(*, timeout: float) -> None:
    """Wait for azure-core's ``LROPoller`` threads to end before the fake goes away.

    ``begin_create_or_update`` of an online endpoint or deployment starts a thread
    that polls the resource every 5 s; left running, its next GET would land in the
    next test's fake (and be counted there) or fail against no fake at all.
    """
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith("LROPoller") and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
