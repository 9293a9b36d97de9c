"""Preflight checks of an Azure ML workspace (``cloudml-edu doctor``): nothing created or billed.

One :class:`~cloudml_edu.checks.Check` each, in the order a student meets them:
sign-in, tenant and workspace; the role for what the plan creates (jobs and
endpoints, compute when a cluster must be made); vCPU quota for the training VM
and the endpoint (with the 20% Azure reserves for a managed online deployment);
read access to the workspace's storage for the job's identity (the user's);
the job environment (registered, or built on first use).  Every check reads:
ARM GETs, the caller's own permissions (``Microsoft.Authorization/permissions``).
"""

from __future__ import annotations

import math
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from cloudml_edu.backends.azureml.connection import (
    client_for,
    credential_for,
    scope_of,
    settings,
    translate,
)
from cloudml_edu.checks import Check
from cloudml_edu.errors import CloudMLError

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["ENDPOINT_RESERVE", "cheap_checks", "checks"]

TARGET = "azureml"
#: A managed online deployment reserves 20% more instances than it runs, rounded up.
ENDPOINT_RESERVE = 1.2
_ML = "Microsoft.MachineLearningServices/workspaces"
_BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
_SCOPE = "https://management.azure.com/.default"


def checks(workspace: Workspace) -> list[Check]:
    """Every check, in order; later ones are skipped when sign-in or the workspace fail."""
    found, body = _first(workspace)
    if body is None:
        return found
    found.append(_quota(workspace))
    found.append(_storage(workspace, str(body.storage_account or "")))
    found.append(_environment(workspace))
    return found


def cheap_checks(workspace: Workspace) -> list[Check]:
    """What ``train`` asks first: sign-in, tenant and workspace, the roles (a few GETs)."""
    return _first(workspace)[0]


def _first(workspace: Workspace) -> tuple[list[Check], Any]:
    sign_in = _sign_in(workspace)
    if not sign_in.ok:
        return [sign_in], None
    ws_check, body = _workspace(workspace)
    if body is None:
        return [sign_in, ws_check], None
    return [sign_in, ws_check, *_roles(workspace)], body


def _check(name: str, status: Any, detail: str, next_step: str = "") -> Check:
    return Check(TARGET, name, status, detail, next_step)


def _sign_in(ws: Workspace) -> Check:
    try:
        credential_for(ws).get_token(_SCOPE)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _check("sign-in", "fail", f"no token: {first[:160]}", "run `az login` and retry")
    tenant = settings(ws).tenant_id
    return _check("sign-in", "ok", f"token for {'tenant ' + tenant if tenant else 'your account'}")


def _workspace(ws: Workspace) -> tuple[Check, Any]:
    scope = scope_of(ws)
    try:
        body = client_for(ws).workspaces.get(scope.workspace_name)
    except Exception as exc:
        error = translate(exc, action=f"read workspace {scope.workspace_name}", ws=ws)
        detail, _, step = str(error).partition("; ")
        return _check("workspace", "fail", detail, step), None
    return _check("workspace", "ok", f"{scope.workspace_name} in {body.location}"), body


def _permissions(ws: Workspace, scope: str) -> list[dict[str, Any]]:
    """The caller's permissions at an ARM scope (actions, notActions, dataActions)."""
    import requests

    token = credential_for(ws).get_token(_SCOPE).token
    answer = requests.get(
        f"https://management.azure.com{scope}/providers/Microsoft.Authorization/permissions",
        params={"api-version": "2022-04-01"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=ws.config.timeouts.pair,
    )
    answer.raise_for_status()
    value: list[dict[str, Any]] = answer.json().get("value", [])
    return value


def allows(permissions: list[dict[str, Any]], action: str, *, data: bool = False) -> bool:
    """True when one permission set grants ``action`` and does not exclude it."""
    key, minus = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return any(
        any(fnmatchcase(action, a) for a in p.get(key, []))
        and not any(fnmatchcase(action, n) for n in p.get(minus, []))
        for p in permissions
    )


def _roles(ws: Workspace) -> list[Check]:
    cfg, arm_id = settings(ws), scope_of(ws).arm_id
    try:
        granted = _permissions(ws, arm_id)
    except Exception as exc:
        return [_check("role", "warn", f"could not read your permissions ({exc})")]
    needed = {"jobs": f"{_ML}/jobs/write", "endpoints": f"{_ML}/onlineEndpoints/write"}
    if not cfg.serverless and not _compute_exists(ws, cfg.compute):
        needed["compute"] = f"{_ML}/computes/write"
    found = []
    for what, action in needed.items():
        if allows(granted, action):
            found.append(_check(f"role: {what}", "ok", f"your role allows {action}"))
        elif what == "compute":
            found.append(
                _check(
                    "role: compute",
                    "fail",
                    f"cluster {cfg.compute} does not exist and your role cannot create it "
                    f"({action}; AzureML Data Scientist cannot)",
                    "set serverless = true in [azure_ml], or ask your instructor to create "
                    f"the cluster {cfg.compute}",
                )
            )
        else:
            found.append(
                _check(
                    f"role: {what}",
                    "fail",
                    f"your role does not allow {action}",
                    "ask the workspace's admin for the AzureML Data Scientist role on it",
                )
            )
    return found


def _compute_exists(ws: Workspace, name: str) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        client_for(ws).compute.get(name)
    except ResourceNotFoundError:
        return False
    except Exception:
        return True  # unreadable here: the role check says the rest
    return True


def _quota(ws: Workspace) -> Check:
    cfg = settings(ws)
    client = client_for(ws)
    try:
        sizes = {s.name: s for s in client.compute.list_sizes()}
        usages = {_usage_name(u): u for u in client.compute.list_usage()}
    except Exception as exc:
        return _check("quota", "warn", f"could not read quota ({exc})")
    need: dict[str, int] = {}
    parts: list[str] = []
    for what, size, count in (
        ("training", cfg.vm_size, 1),
        ("endpoint", cfg.instance_type, math.ceil(ENDPOINT_RESERVE)),
    ):
        found = sizes.get(size)
        if found is None:
            return _check(
                "quota", "fail", f"{size} ({what}) is not offered here", "pick another size"
            )
        vcpus = int(_field(found, "v_cp_us", "vCPUs")) * count
        need[str(found.family)] = need.get(str(found.family), 0) + vcpus
        parts.append(f"{what} {size} needs {vcpus} vCPUs")
    for family, vcpus in need.items():
        usage = usages.get(family)
        limit = int(usage.limit or 0) if usage else 0
        used = int(_field(usage, "current_value", "currentValue")) if usage else 0
        if used + vcpus > limit:
            return _check(
                "quota",
                "fail",
                f"{family}: {used} of {limit} vCPUs in use, {'; '.join(parts)} "
                "(an endpoint reserves 20% more: 2 instances for 1)",
                "delete idle endpoints (`cloudml-edu cleanup`), pick smaller sizes "
                "(vm_size, instance_type in [azure_ml]), or request more quota in the portal",
            )
    return _check("quota", "ok", "; ".join(parts) + " (within your quota)")


def _field(entity: Any, attribute: str, rest_name: str) -> Any:
    """A number azure-ai-ml keeps under its Python name or (from ``as_dict``) its REST name."""
    return getattr(entity, attribute, None) or vars(entity).get(rest_name) or 0


def _usage_name(usage: Any) -> str:
    name = usage.name
    return str(name.get("value") if isinstance(name, dict) else getattr(name, "value", name))


def _storage(ws: Workspace, account: str) -> Check:
    if not account:
        return _check("storage", "skip", "the workspace names no storage account")
    name = account.rsplit("/", 1)[-1]
    try:
        granted = _permissions(ws, account)
    except Exception as exc:
        return _check("storage", "warn", f"could not read your permissions on {name} ({exc})")
    if allows(granted, _BLOB_READ, data=True):
        return _check("storage", "ok", f"your identity can read blobs in {name}")
    return _check(
        "storage",
        "fail",
        f"jobs read data with your identity, which cannot read blobs in {name}",
        f"ask the storage account's admin for Storage Blob Data Reader on {name}",
    )


def _environment(ws: Workspace) -> Check:
    from azure.core.exceptions import ResourceNotFoundError

    from cloudml_edu.backends.azureml.environment import JOB_ENVIRONMENT

    if settings(ws).environment:
        return _check("environment", "ok", f"{settings(ws).environment} (from [azure_ml])")
    spec = JOB_ENVIRONMENT
    try:
        client_for(ws).environments.get(spec.name, version=spec.version)
    except ResourceNotFoundError:
        return _check(
            "environment",
            "warn",
            f"{spec.name}:{spec.version} is not registered yet",
            "the first fit registers it and Azure ML builds its image (~8 min, once)",
        )
    except CloudMLError as exc:
        return _check("environment", "warn", str(exc))
    except Exception as exc:
        return _check("environment", "warn", f"could not look it up ({type(exc).__name__})")
    return _check("environment", "ok", f"{spec.name}:{spec.version} registered")
