"""``management.azure.com``: the workspace's resources, and the refusals Azure ML makes.

Resources are stored as PUT and echoed with ``id``, ``name``, provisioning state
and system data.  What the service checks, the fake checks, with Azure's own
error codes: the token's tenant (``InvalidAuthenticationTokenTenant``), the
caller's role for what it writes (``AuthorizationFailed``: AzureML Data
Scientist cannot create compute), vCPU quota per VM family with the 20%
capacity a managed online deployment reserves (``QuotaExceeded``), online
endpoint names unique per region, and a model of type ``mlflow_model`` only
where an ``MLmodel`` file exists (its flavors are read from it).
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from cloudml_edu.testing._http import Reply, SentRequest, json_reply
from cloudml_edu.testing.azure_ml._credential import token_tenant
from cloudml_edu.testing.azure_ml.scoring import ENDPOINT_KEY

if TYPE_CHECKING:
    from cloudml_edu.testing.azure_ml import FakeAzureML

__all__ = ["ROLES", "VM_SIZES", "ArmService", "allowed"]

#: Built-in roles as the fake models them (actions; notActions), simplified from Azure's
#: definitions: AzureML Data Scientist may do everything in a workspace but write or
#: delete compute; Storage Blob Data Reader reads blobs.
ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "Owner": (("*",), (), ("*",)),
    "Contributor": (("*",), ("Microsoft.Authorization/*/write",), ()),
    "AzureML Data Scientist": (
        ("Microsoft.MachineLearningServices/workspaces/*",),
        (
            "Microsoft.MachineLearningServices/workspaces/computes/write",
            "Microsoft.MachineLearningServices/workspaces/computes/delete",
            "Microsoft.MachineLearningServices/workspaces/write",
            "Microsoft.MachineLearningServices/workspaces/delete",
        ),
        (),
    ),
    "Storage Blob Data Reader": (
        ("Microsoft.Storage/storageAccounts/blobServices/containers/read",),
        (),
        ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",),
    ),
}
#: VM sizes the fake's region offers: family and vCPUs (Azure's ``vmSizes`` list).
VM_SIZES: dict[str, tuple[str, int]] = {
    "Standard_DS2_v2": ("standardDSv2Family", 2),
    "Standard_DS3_v2": ("standardDSv2Family", 4),
    "Standard_DS4_v2": ("standardDSv2Family", 8),
    "Standard_D2as_v4": ("standardDASv4Family", 2),
    "Standard_F2s_v2": ("standardFSv2Family", 2),
    "Standard_E4s_v3": ("standardESv3Family", 4),
}
#: A managed online deployment reserves 20% more instances than it runs (rounded up).
ENDPOINT_RESERVE = 1.2
_WRITE = "Microsoft.MachineLearningServices/workspaces/{}/write"


def allowed(action: str, roles: set[str], *, data: bool = False) -> bool:
    """True when one of ``roles`` grants ``action`` (a data action with ``data``)."""
    for role in roles:
        actions, not_actions, data_actions = ROLES.get(role, ((), (), ()))
        granted = data_actions if data else actions
        if any(fnmatchcase(action, a) for a in granted) and not any(
            fnmatchcase(action, n) for n in (() if data else not_actions)
        ):
            return True
    return False


class ArmService:
    """The workspace's ARM resources, with tenant, role, quota and name checks."""

    def __init__(self, fake: FakeAzureML) -> None:
        self.fake = fake

    def claims(self, request: SentRequest) -> bool:
        return request.host == "management.azure.com"

    def answer(self, request: SentRequest) -> Reply:
        fake, path = self.fake, request.path
        tenant = token_tenant(request.headers.get("Authorization", ""))
        if tenant and tenant != fake.tenant:
            return self._wrong_tenant(tenant)
        subscription = f"/subscriptions/{fake.subscription_id}"
        if path.lower().startswith(
            f"{subscription}/providers/microsoft.machinelearningservices/locations/".lower()
        ):
            return self._location(path.rsplit("/", 1)[-1])
        if path.endswith("/providers/Microsoft.Authorization/permissions"):
            return self._permissions(path.split("/providers/Microsoft.Authorization/")[0])
        if not path.lower().startswith(fake.arm_id.lower()):
            return fake.error(404, "ResourceNotFound", f"no workspace at {path}")
        rest = path[len(fake.arm_id) :]
        if rest == "":
            return json_reply(200, fake.workspace_body())
        return self._resource(request, rest.strip("/").split("/"))

    # ---- refusals ----------------------------------------------------------------------
    def _wrong_tenant(self, tenant: str) -> Reply:
        home = self.fake.tenant
        return self.fake.error(
            401,
            "InvalidAuthenticationTokenTenant",
            f"The access token is from the wrong issuer 'https://sts.windows.net/{tenant}/'. "
            f"It must match the tenant 'https://sts.windows.net/{home}/' associated with this "
            f"subscription. Please use the authority (URL) 'https://login.windows.net/{home}' "
            "to get the token.",
        )

    def _forbidden(self, action: str) -> Reply:
        fake = self.fake
        return fake.error(
            403,
            "AuthorizationFailed",
            f"The client '{fake.user}' with object id '22222222-3333-4444-8555-666666666666' "
            f"does not have authorization to perform action '{action}' over scope "
            f"'{fake.arm_id}' or the scope is invalid. If access was recently granted, please "
            "refresh your credentials.",
        )

    def _quota_refusal(self, vm_size: str, needed: int) -> Reply | None:
        family, _ = VM_SIZES.get(vm_size, ("", 0))
        limit, used = self.fake.quota.get(family, 0), self.fake.vcpus_used(family)
        if used + needed <= limit:
            return None
        return self.fake.error(
            400,
            "QuotaExceeded",
            f"Not enough quota available for {vm_size} in SubscriptionId "
            f"{self.fake.subscription_id}. Current usage/limit: {used}/{limit}. Additional "
            f"needed: {needed}. Please choose a different SKU or request for more quota.",
        )

    # ---- subscription level: usages, VM sizes, permissions ----------------------------------
    def _location(self, what: str) -> Reply:
        fake = self.fake
        if what == "vmSizes":
            sizes = [
                {
                    "name": name,
                    "family": family,
                    "vCPUs": vcpus,
                    "gpus": 0,
                    "memoryGB": vcpus * 3.5,
                    "lowPriorityCapable": True,
                    "premiumIO": True,
                    "supportedComputeTypes": ["AmlCompute", "ComputeInstance"],
                }
                for name, (family, vcpus) in VM_SIZES.items()
            ]
            return json_reply(200, {"value": sizes})
        if what == "usages":
            usages = [
                {
                    "id": f"/subscriptions/{fake.subscription_id}/providers/"
                    f"Microsoft.MachineLearningServices/locations/{fake.region}/usages/{family}",
                    "amlWorkspaceLocation": fake.region,
                    "type": "Microsoft.MachineLearningServices/vCPUs",
                    "unit": "Count",
                    "currentValue": fake.vcpus_used(family),
                    "limit": limit,
                    "name": {
                        "value": family,
                        "localizedValue": f"{family} Cluster Dedicated vCPUs",
                    },
                }
                for family, limit in fake.quota.items()
            ]
            return json_reply(200, {"value": usages})
        return self.fake.error(404, "NotFound", f"no {what}")

    def _permissions(self, scope: str) -> Reply:
        """What the caller may do at ``scope``: the actions of its roles there."""
        roles = self.fake.roles_at(scope)
        value = [
            {
                "actions": list(ROLES[r][0]),
                "notActions": list(ROLES[r][1]),
                "dataActions": list(ROLES[r][2]),
                "notDataActions": [],
            }
            for r in sorted(roles)
            if r in ROLES
        ]
        return json_reply(200, {"value": value})

    # ---- the workspace's resources -----------------------------------------------------------
    def _resource(self, request: SentRequest, segments: list[str]) -> Reply:
        fake, method, body = self.fake, request.method, request.body
        kind = segments[0]
        if kind == "jobs":
            return fake.job_request(method, segments, body)
        if kind == "codes" and segments[-1] == "versions" and "hash" in request.query:
            return self._codes_by_hash(request.query["hash"])
        if segments[-1] == "startPendingUpload":
            return self._pending_upload(segments)
        if kind == "onlineEndpoints" and segments[-1] == "listKeys":
            return json_reply(200, {"primaryKey": ENDPOINT_KEY, "secondaryKey": "fake-2"})
        if kind == "onlineEndpoints" and segments[-1] == "getLogs":
            return json_reply(200, {"content": fake.deployment_logs})
        if kind == "computes" and segments[-1] == "listNodes":
            compute = fake.resources.get("/".join(segments[:2]), {})
            busy = compute.get("properties", {}).get("properties", {}).get("currentNodeCount", 0)
            nodes = [{"nodeId": f"node-{i}", "nodeState": "running"} for i in range(busy)]
            return json_reply(200, {"nodes": nodes})
        if kind == "onlineEndpoints" and len(segments) == 4 and method == "GET":
            return self._deployment(segments)
        if kind == "datastores":
            return self._datastores(segments)
        key = "/".join(segments)
        if method == "PUT":
            refused = self._refusal(segments, body or {})
            return refused or json_reply(201, self.store(key, body))
        if method == "GET":
            if key in fake.resources:
                return json_reply(200, fake.resources[key])
            if len(segments) % 2 == 1:  # a collection
                prefix = key + "/"
                items = [
                    v
                    for k, v in fake.resources.items()
                    if k.startswith(prefix) and "/" not in k[len(prefix) :]
                ]
                return json_reply(200, {"value": items})
            return fake.error(404, "UserError", f"{kind} {segments[1]} was not found")
        if method == "DELETE":
            if kind == "computes" and not allowed(
                _WRITE.format("computes").replace("write", "delete"), fake.roles
            ):
                return self._forbidden(_WRITE.format("computes").replace("write", "delete"))
            gone = fake.resources.pop(key, None)
            for child in [k for k in fake.resources if k.startswith(key + "/")]:
                del fake.resources[child]
            return (200 if gone is not None else 204), {}, ""
        return fake.error(405, "MethodNotAllowed", f"{method} {key}")

    def _refusal(self, segments: list[str], body: dict[str, Any]) -> Reply | None:
        """Azure's answer to a write it refuses, or None."""
        fake, kind = self.fake, segments[0]
        key = "/".join(segments)
        creating = key not in fake.resources
        if (
            kind == "computes"
            and len(segments) == 2
            and not allowed(_WRITE.format("computes"), fake.roles)
        ):
            return self._forbidden(_WRITE.format("computes"))
        if (
            kind == "onlineEndpoints"
            and len(segments) == 2
            and creating
            and segments[1] in fake.region_endpoint_names
        ):
            return fake.error(
                400,
                "UserError",
                "There is already an endpoint with this name, Endpoint name needs to be "
                "unique within a region. Try some other name.",
            )
        if kind == "onlineEndpoints" and len(segments) == 4 and key not in fake.resources:
            size = str(body.get("properties", {}).get("instanceType", ""))
            count = int((body.get("sku") or {}).get("capacity") or 1)
            vcpus = VM_SIZES.get(size, ("", 0))[1]
            refused = self._quota_refusal(size, vcpus * math.ceil(count * ENDPOINT_RESERVE))
            if refused is not None:
                return refused
        if kind == "models" and len(segments) == 4:
            return self._model_refusal(body)
        return None

    def _model_refusal(self, body: dict[str, Any]) -> Reply | None:
        props = body.get("properties", {})
        if props.get("modelType") != "mlflow_model":
            return None
        uri = str(props.get("modelUri", ""))
        folder = self.fake.output_folder(uri)
        if folder is None or not (folder / "MLmodel").is_file():
            return self.fake.error(
                400,
                "UserError",
                f"No MLmodel file found at {uri}: a model of type mlflow_model must be a "
                "folder holding an MLmodel file (save it with mlflow.<flavor>.save_model to "
                "a job output of type mlflow_model).",
            )
        return None

    def store(self, key: str, body: Any) -> dict[str, Any]:
        fake = self.fake
        segments = key.split("/")
        stored: dict[str, Any] = json.loads(json.dumps(body or {}))
        stored["id"] = f"{fake.arm_id}/{key}"
        stored["name"] = segments[-1]
        props = stored.setdefault("properties", {})
        props["provisioningState"] = "Succeeded"
        if segments[0] == "onlineEndpoints" and len(segments) == 2:
            props["scoringUri"] = (
                f"https://{segments[1]}.{fake.region}.inference.ml.azure.com/score"
            )
            props.setdefault("traffic", {})
            props.setdefault("properties", {})
        if segments[0] == "computes":
            props.setdefault("properties", {})
        if segments[0] == "models" and props.get("modelType") == "mlflow_model":
            folder = fake.output_folder(str(props.get("modelUri", "")))
            if folder is not None:
                props["flavors"] = mlmodel_flavors(folder / "MLmodel")
        if segments[0] == "onlineEndpoints" and len(segments) == 4:  # a deployment
            states = fake.next_deployment_states()
            fake.rollouts[key] = list(states)
            props["provisioningState"] = states[0]
            props.setdefault("scaleSettings", {"scaleType": "Default"})
        now = datetime.now(UTC).isoformat()
        created = fake.resources.get(key, {}).get("systemData", {}).get("createdAt", now)
        stored["systemData"] = {
            "createdAt": created,
            "createdBy": fake.user,
            "lastModifiedAt": now,
        }
        fake.resources[key] = stored
        return stored

    def _deployment(self, segments: list[str]) -> Reply:
        """A deployment's GET: its next scripted provisioning state."""
        fake, key = self.fake, "/".join(segments)
        if key not in fake.resources:
            return fake.error(404, "UserError", f"deployment {segments[3]} was not found")
        states = fake.rollouts.get(key) or ["Succeeded"]
        state = states.pop(0) if len(states) > 1 else states[0]
        fake.resources[key]["properties"]["provisioningState"] = state
        return json_reply(200, fake.resources[key])

    def _codes_by_hash(self, wanted: str) -> Reply:
        found = [
            v
            for k, v in self.fake.resources.items()
            if k.startswith("codes/")
            and v.get("properties", {}).get("properties", {}).get("hash_sha256") == wanted
        ]
        return json_reply(200, {"value": found[:1]})

    def _pending_upload(self, segments: list[str]) -> Reply:
        folder = f"https://{self.fake.storage_account}.blob.core.windows.net/code-{segments[1]}"
        return json_reply(
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
        fake = self.fake
        store = {
            "id": f"{fake.arm_id}/datastores/workspaceblobstore",
            "name": "workspaceblobstore",
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": fake.storage_account,
                "containerName": "azureml-blobstore",
                "endpoint": "core.windows.net",
                "protocol": "https",
                "isDefault": True,
                "credentials": {"credentialsType": "AccountKey"},
            },
        }
        if segments[-1] == "listSecrets":
            key = base64.b64encode(b"fake-account-key").decode()
            return json_reply(200, {"secretsType": "AccountKey", "key": key})
        if len(segments) == 1:
            return json_reply(200, {"value": [store]})
        return json_reply(200, store)


def mlmodel_flavors(path: Any) -> dict[str, Any]:
    """The ``flavors`` of an MLmodel file, as the service reads them."""
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    flavors: dict[str, Any] = data.get("flavors") or {}
    return {
        name: {k: str(v) for k, v in (spec or {}).items() if not isinstance(v, dict | list)}
        for name, spec in flavors.items()
    }
