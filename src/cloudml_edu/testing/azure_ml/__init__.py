"""A fake Azure ML workspace at the HTTP boundary that runs what Azure ML would run.

The real ``azure-ai-ml`` client runs; ``responses`` answers its HTTP requests
from small per-service route handlers on the shared :class:`~cloudml_edu.testing._http.HttpFake`:
ARM (:mod:`.arm`), blob storage (:mod:`.blob`), run history and MLflow
(:mod:`.history`), job outputs (:mod:`.outputs`) and scoring (:mod:`.scoring`).  Jobs are not invented: each
command job and pipeline step runs its command in a twin of the job's registered
environment (:mod:`.runner`), with the code snapshot the SDK uploaded and the data
asset's files; metrics are what the job logged to a tracking server that behaves
like Azure's (:mod:`.tracking`); a model registers only where the job saved an
``MLmodel``; scoring runs the registered model in a clean twin of its own requirements.

>>> with FakeAzureML(root=tmp_path) as fake:  # doctest: +SKIP
...     run = Trainer("sdk", workspace=fake.workspace).fit(ds)   # runs in the twin

Every request is recorded in :attr:`FakeAzureML.requests`; job bodies as PUT
are in :attr:`FakeAzureML.jobs`.  A request to an address the fake does not
serve fails (no network is ever used); plain ``http://127.0.0.1`` passes through.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cloudml_edu.testing._http import HttpFake, Reply, SentRequest, json_reply
from cloudml_edu.testing.azure_ml._credential import FAKE_TENANT, FakeCredential
from cloudml_edu.testing.azure_ml.arm import VM_SIZES, ArmService
from cloudml_edu.testing.azure_ml.blob import BlobService
from cloudml_edu.testing.azure_ml.history import RunHistoryService
from cloudml_edu.testing.azure_ml.jobs import TERMINAL, JobScript
from cloudml_edu.testing.azure_ml.outputs import OutputDataService
from cloudml_edu.testing.azure_ml.runner import JobError, cancel, start
from cloudml_edu.testing.azure_ml.scoring import ENDPOINT_KEY, ScoringService
from cloudml_edu.testing.azure_ml.tracking import TrackingServer, TrackingStore

if TYPE_CHECKING:
    from cloudml_edu.environments import EnvironmentSpec
    from cloudml_edu.workspace import Workspace

__all__ = [
    "CANVAS_STEPS",
    "ENDPOINT_KEY",
    "FakeAzureML",
    "FakeCredential",
    "JobScript",
    "SentRequest",
]

#: The steps of a small pipeline built by hand in the Designer canvas.
CANVAS_STEPS = ["Import Data", "Split Data", "Train Model", "Score Model", "Evaluate Model"]
#: How long ``stop`` waits for azure-ai-ml's background LRO pollers (they poll every 5 s).
LRO_JOIN_SECONDS = 15.0
_DEFAULT_CODES = {401: "AuthenticationFailed", 404: "NotFound", 429: "TooManyRequests"}
_DATASTORE_URI = re.compile(r"azureml://datastores/([^/]+)/paths/(.+)")
_JOB_OUTPUT = re.compile(r"azureml://jobs/([^/]+)/outputs/([^/]+)")


class FakeAzureML(HttpFake):
    """An Azure ML workspace answering the real azure-ai-ml client through ``responses``.

    What the signed-in student may do is :attr:`roles` (default: AzureML Data
    Scientist, the usual student role); :attr:`quota` is the vCPU limit per VM
    family; :attr:`region_endpoint_names` are endpoint names other users of the
    region hold; :attr:`tenant` is the subscription's tenant.
    """

    error_codes: ClassVar[dict[int, str]] = _DEFAULT_CODES

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
        super().__init__()
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
        self.user = "student@example.edu"
        self.tenant = FAKE_TENANT
        self.roles: set[str] = {"AzureML Data Scientist"}
        self.storage_roles: set[str] = {"Storage Blob Data Reader"}
        self.quota: dict[str, int] = {family: 24 for family, _ in VM_SIZES.values()}
        self.region_endpoint_names: set[str] = set()
        #: Settings of ``[azure_ml]`` for :attr:`workspace` (change before first use).
        self.settings: dict[str, Any] = {}
        self.jobs: dict[str, dict[str, Any]] = {}  # as PUT by the client, or added by add_job
        self.resources: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.scripts: dict[str, JobScript] = {}
        self.predictions: Callable[[dict[str, Any]], Any] | None = None
        self.deployment_logs = ""
        self.rollouts: dict[str, list[str]] = {}
        self._deployment_states: list[list[str]] = []
        self._next_scripts: list[JobScript] = []
        self._workspace: Workspace | None = None
        self._scratch: Path | None = None
        self._server: TrackingServer | None = None
        self.tracking = TrackingStore(self.scratch / "mlflow-artifacts")
        self.credential = FakeCredential()
        self.arm = ArmService(self)
        self.services = [
            self.arm,
            BlobService(self),
            ScoringService(self),
            OutputDataService(self),  # before run history: both are on the region's host
            RunHistoryService(self),
        ]

    # ---- scripting ---------------------------------------------------------
    def script_job(
        self,
        name: str | None = None,
        *,
        statuses: list[str] | None = None,
        metrics: dict[str, float] | None = None,
        error: str | None = None,
    ) -> JobScript:
        """Script what the service does with job ``name`` (default: the next one submitted)
        instead of running it: ``statuses`` in turn, a platform ``error``, or the
        ``metrics`` of a job whose code the fake cannot run."""
        script = JobScript(statuses=statuses, metrics=metrics, error=error)
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
        return self.arm.store(f"computes/{name}", body)

    def add_environment(self, name: str, version: str, spec: EnvironmentSpec) -> str:
        """An environment registered in the studio from ``spec``; returns its ``azureml:`` id."""
        import yaml

        from cloudml_edu.backends.azureml.environment import conda_file

        body = {
            "properties": {
                "image": spec.image or "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
                "condaFile": yaml.safe_dump(conda_file(spec)),
            }
        }
        self.arm.store(f"environments/{name}/versions/{version}", body)
        return f"azureml:{name}:{version}"

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

        Its built-in components are not code the fake runs: its outcome is scripted
        (``statuses``, ``error``, and the ``metrics`` its Evaluate Model step logged).
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
        script = JobScript(
            statuses=statuses or ["Completed"], metrics=dict(metrics or {}), error=error
        )
        if error is not None and statuses is None:
            script.statuses = ["Failed"]
        self.scripts[name] = script
        for run_id in [name, *self.step_names(name)]:
            run = self.tracking.create_run(run_id, experiment)
            if run_id == name or run_id.endswith("evaluate_model") or command is not None:
                for key, value in (metrics or {}).items():
                    run.metrics[key] = [{"key": key, "value": value, "timestamp": 0, "step": 0}]
        now = datetime.now(UTC)  # built 4 minutes ago; a finished one ran for the last 3
        script.created = now - timedelta(minutes=4)
        if script.statuses and script.statuses[0] in TERMINAL:
            script.started, script.ended = now - timedelta(minutes=3), now
        return script

    def script_deployment(self, states: list[str], *, logs: str = "") -> None:
        """The provisioning states the next deployment reports in turn (GETs), and its log."""
        self._deployment_states.append(list(states))
        self.deployment_logs = logs

    def next_deployment_states(self) -> list[str]:
        return self._deployment_states.pop(0) if self._deployment_states else ["Succeeded"]

    @property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Online endpoint bodies as stored, by name."""
        return {
            k.split("/")[1]: v
            for k, v in self.resources.items()
            if k.startswith("onlineEndpoints/") and k.count("/") == 1
        }

    def error_body(self, status: int, code: str, message: str) -> Any:
        return {"error": {"code": code, "message": message}}

    def error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Reply:
        return json_reply(
            status,
            self.error_body(status, code, message),
            {"x-ms-error-code": code, **(headers or {})},
        )

    # ---- what was sent -----------------------------------------------------
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
                        **self.settings,
                    },
                }
            )
            self._workspace = Workspace(config)
            use_credential(self._workspace, self.credential)
        return self._workspace

    def workspace_body(self) -> dict[str, Any]:
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
                "storageAccount": self.storage_account_id,
            },
        }

    @property
    def storage_account_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Storage/storageAccounts/{self.storage_account}"
        )

    def roles_at(self, scope: str) -> set[str]:
        """The caller's roles at an ARM scope (the workspace's storage account has its own)."""
        if scope.lower().startswith(self.storage_account_id.lower()):
            return self.roles | self.storage_roles
        return set(self.roles)

    def vcpus_used(self, family: str) -> int:
        """vCPUs of ``family`` in use: busy cluster nodes and endpoint reservations."""
        import math

        used = 0
        for key, body in self.resources.items():
            props = body.get("properties", {})
            if key.startswith("computes/"):
                inner = props.get("properties", {})
                size_family, vcpus = VM_SIZES.get(str(inner.get("vmSize", "")), ("", 0))
                if size_family == family:
                    used += vcpus * int(inner.get("currentNodeCount") or 0)
            elif key.startswith("onlineEndpoints/") and key.count("/") == 3:
                size_family, vcpus = VM_SIZES.get(str(props.get("instanceType", "")), ("", 0))
                if size_family == family:
                    count = int((body.get("sku") or {}).get("capacity") or 1)
                    used += vcpus * math.ceil(count * 1.2)
        return used

    # ---- jobs ----------------------------------------------------------------
    def job_request(self, method: str, segments: list[str], body: Any) -> Reply:
        if len(segments) == 1:
            return json_reply(200, {"value": [self._job_view(n) for n in self.jobs]})
        name = segments[1]
        if method == "PUT":
            self.jobs[name] = body
            script = self.scripts.get(name) or (
                self._next_scripts.pop(0) if self._next_scripts else JobScript()
            )
            self.scripts[name] = script
            if script.runs:
                script.thread = start(self, name, body, script.steps)
            elif script.metrics is not None:
                run = self.tracking.create_run(name, str(body["properties"].get("experimentName")))
                for key, value in script.metrics.items():
                    run.metrics[key] = [{"key": key, "value": value, "timestamp": 0, "step": 0}]
            return json_reply(201, self._job_view(name, status="NotStarted"))
        if name not in self.jobs:
            return self.error(404, "UserError", f"job {name} was not found")
        script = self.scripts[name]
        if method == "POST" and segments[-1] == "cancel":
            if script.runs:
                for step in script.steps:
                    cancel(step)
            else:
                script.statuses = [
                    *(script.statuses or [])[: script.seen],
                    "CancelRequested",
                    "Canceled",
                ]
            return 202, {"Location": f"https://management.azure.com{self.arm_id}/jobs/{name}"}, ""
        return json_reply(200, self._job_view(name, status=script.advance()))

    def _job_view(self, name: str, *, status: str | None = None) -> dict[str, Any]:
        import json

        view: dict[str, Any] = json.loads(json.dumps(self.jobs[name]))
        view["id"] = f"{self.arm_id}/jobs/{name}"
        view["name"] = name
        props = view.setdefault("properties", {})
        script = self.scripts[name]
        props["status"] = status or script.status
        props["services"] = {
            "Studio": {
                "jobServiceType": "Studio",
                "endpoint": f"https://ml.azure.com/runs/{name}?wsid={self.arm_id}",
            }
        }
        view["systemData"] = {"createdAt": script.created.isoformat()}
        started, ended = script.times()
        if started is not None:
            props.setdefault("properties", {})["StartTimeUtc"] = started.isoformat()
        if ended is not None:
            props.setdefault("properties", {})["EndTimeUtc"] = ended.isoformat()
        return view

    def step_names(self, parent: str) -> list[str]:
        """The child job names of pipeline job ``parent`` (``<parent>_<node>``)."""
        nodes = self.jobs.get(parent, {}).get("properties", {}).get("jobs", {}) or {}
        return [f"{parent}_{node}" for node in nodes]

    def run_of(self, run_id: str) -> tuple[str, datetime | None, datetime | None, str] | None:
        """(status, start, end, error) of a job or pipeline step, as run history has it."""
        if run_id in self.scripts:
            script = self.scripts[run_id]
            started, ended = script.times()
            return script.status, started, ended, script.failure()
        for parent, script in self.scripts.items():
            if run_id in self.step_names(parent):
                step = script.step(run_id)
                if step is not None:
                    return step.status, step.started, step.ended, step.error
                started, ended = script.times()
                return script.status, started, ended, script.failure()
        return None

    def wait_for_jobs(self, timeout: float = 600.0) -> None:
        """Wait until every job that runs here has ended."""
        deadline = time.monotonic() + timeout
        for script in self.scripts.values():
            if script.thread is not None:
                script.thread.join(max(0.0, deadline - time.monotonic()))

    # ---- what the runner asks ------------------------------------------------
    @property
    def scratch(self) -> Path:
        """Where jobs' folders, outputs and logs are kept."""
        if self._scratch is None:
            base = self.root / "_fake" if self.root is not None else Path(tempfile.mkdtemp())
            base.mkdir(parents=True, exist_ok=True)
            self._scratch = base
        return self._scratch

    def job_variables(self, run_id: str, experiment: str) -> dict[str, str]:
        """The variables Azure ML sets in a job's process (tracking pointed at the fake's server)."""
        if self._server is None:
            self._server = TrackingServer(self.tracking).start()
        return {
            "MLFLOW_TRACKING_URI": f"{self._server.url}/mlflow/v1.0{self.arm_id}",
            "MLFLOW_TRACKING_TOKEN": self.credential.token,
            "MLFLOW_RUN_ID": run_id,
            "MLFLOW_EXPERIMENT_NAME": experiment,
            "MLFLOW_EXPERIMENT_ID": self.tracking.experiment_id(experiment),
            "AZUREML_RUN_ID": run_id,
            "AZUREML_ARM_SUBSCRIPTION": self.subscription_id,
            "AZUREML_ARM_RESOURCEGROUP": self.resource_group,
            "AZUREML_ARM_WORKSPACE_NAME": self.workspace_name,
            "AZUREML_ARM_PROJECT_NAME": experiment,
        }

    def environment_spec(self, environment: str) -> EnvironmentSpec:
        """The spec of a registered environment (its conda file's Python and pip pins)."""
        import yaml

        from cloudml_edu.environments import EnvironmentSpec

        key = _asset_key("environments", environment, self.arm_id)
        body = self.resources.get(key)
        if body is None:
            raise JobError(
                f"environment {environment} was not found in the workspace; register it first"
            )
        conda = yaml.safe_load(body["properties"].get("condaFile") or "{}") or {}
        python, pins = "3.11", list[str]()
        for item in conda.get("dependencies", []):
            if isinstance(item, str) and item.startswith("python="):
                python = item.split("=", 1)[1]
            elif isinstance(item, dict):
                pins.extend(str(p) for p in item.get("pip", []))
        image = body["properties"].get("image")
        return EnvironmentSpec(name=key.split("/")[1], python=python, pins=tuple(pins), image=image)

    def component_spec(self, component_id: str) -> dict[str, Any]:
        key = _asset_key("components", component_id, self.arm_id)
        body = self.resources.get(key)
        if body is None:
            raise JobError(f"component {component_id} was not found in the workspace")
        spec: dict[str, Any] = body["properties"]["componentSpec"]
        return spec

    def code_snapshot(self, code_id: str, target: Path) -> Path:
        """The code folder a job runs in, rebuilt from the blobs the SDK uploaded for it."""
        body = self.resources.get(_asset_key("codes", code_id, self.arm_id))
        if body is None:
            raise JobError(f"code {code_id} was not found in the workspace")
        uri = str(body["properties"].get("codeUri", ""))
        prefix = uri.split(".blob.core.windows.net/", 1)[1].rstrip("/") + "/"
        return self._materialize(prefix, target)

    def check_data_access(self, props: dict[str, Any]) -> None:
        """A job that reads data with the user's identity needs a blob-reading role on the
        storage account (the workspace's here); Azure fails it at mount time otherwise."""
        from cloudml_edu.testing.azure_ml.arm import allowed

        identity = str((props.get("identity") or {}).get("identityType", ""))
        read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
        if identity == "UserIdentity" and not allowed(
            read, self.roles_at(self.storage_account_id), data=True
        ):
            raise JobError(
                "AuthorizationPermissionMismatch: This request is not authorized to perform "
                f"this operation using this permission. {self.user} cannot read the job's "
                f"input data in storage account {self.storage_account}."
            )

    def mount(self, uri: str, under: Path) -> Path:
        """A data input as the job sees it: the data asset's files in a folder."""
        body = self.resources.get(_asset_key("data", uri, self.arm_id))
        if body is None:
            raise JobError(f"data asset {uri} was not found in the workspace")
        data_uri = str(body["properties"].get("dataUri", ""))
        found = _DATASTORE_URI.fullmatch(data_uri.rstrip("/"))
        if found is None:
            raise JobError(f"the fake mounts only workspace datastore paths, not {data_uri}")
        prefix = f"azureml-blobstore/{found.group(2)}/"
        return self._materialize(prefix, under / found.group(2).rsplit("/", 1)[-1])

    def _materialize(self, prefix: str, target: Path) -> Path:
        if target.exists():
            shutil.rmtree(target)
        files = [k for k in self.blobs if k.startswith(prefix)]
        if not files:
            raise JobError(f"nothing was uploaded under {prefix}")
        for key in files:
            path = target / key[len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.blobs[key])
        return target

    def output_folder(self, uri: str) -> Path | None:
        """The folder behind ``azureml://jobs/<job>/outputs/<name>`` (None when there is none)."""
        found = _JOB_OUTPUT.fullmatch(uri.rstrip("/"))
        if found is None:
            return None
        job, output = found.groups()
        for script in self.scripts.values():
            step = script.step(job)
            if step is not None and output in step.outputs:
                return step.outputs[output]
        return None

    def deployed_model(self, endpoint: str) -> Path | None:
        """The model folder behind an endpoint's ``blue`` deployment."""
        deployment = self.resources.get(f"onlineEndpoints/{endpoint}/deployments/blue")
        if deployment is None:
            return None
        model_id = str(deployment["properties"].get("model", ""))
        model = self.resources.get(_asset_key("models", model_id, self.arm_id))
        if model is None:
            return None
        return self.output_folder(str(model["properties"].get("modelUri", "")))

    # ---- lifecycle ---------------------------------------------------------
    def stop(self) -> None:
        if self._mock is not None:
            _join_sdk_pollers(timeout=LRO_JOIN_SECONDS)
        for script in self.scripts.values():
            for step in script.steps:
                cancel(step)
        self.wait_for_jobs(timeout=30)
        super().stop()
        if self._server is not None:
            self._server.stop()
            self._server = None


def _asset_key(kind: str, ref: str, arm_id: str) -> str:
    """``<kind>/<name>/versions/<version>`` from an ARM id or ``azureml:<name>:<version>``."""
    ref = ref.removeprefix("azureml:")
    if ref.startswith("/subscriptions/"):
        return ref.split("/workspaces/", 1)[1].split("/", 1)[1]
    name, _, version = ref.partition(":")
    return f"{kind}/{name}/versions/{version}"


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
