"""One ``MLClient`` per workspace, made lazily, and Azure errors mapped to the library's.

Settings come from ``[azure_ml]`` or Azure ML's own ``config.json``.  The
credential is ``DefaultAzureCredential`` unless one was attached with
:func:`use_credential` (tests, notebooks with a custom identity).  Retries of
429/5xx answers are azure-core's, bounded by ``[azure_ml] retry_total``; every
request's connect and read timeouts are the workspace's ``[timeouts]``.
"""

from __future__ import annotations

import json
import re
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu._encoding import read_config_text
from cloudml_edu._http import error_class
from cloudml_edu._secrets import redact
from cloudml_edu.errors import (
    AuthError,
    CloudMLError,
    ConfigError,
    NotFoundError,
    QuotaError,
    ServiceError,
    ThrottledError,
)

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential

    from cloudml_edu.config import AzureMLConfig
    from cloudml_edu.workspace import Workspace

__all__ = [
    "OWNER_TAG",
    "Scope",
    "client_for",
    "credential_for",
    "owned_name",
    "owner_tags",
    "scope_of",
    "settings",
    "translate",
    "use_credential",
]

OWNER_TAG = "cloudml.owner"
_CONFIG_DIRS = (".azureml", "aml_config", ".")
_MAX_PARENTS = 20

_clients: weakref.WeakKeyDictionary[Workspace, MLClient] = weakref.WeakKeyDictionary()
_credentials: weakref.WeakKeyDictionary[Workspace, TokenCredential] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Scope:
    """Which Azure ML workspace: subscription, resource group, workspace name."""

    subscription_id: str
    resource_group: str
    workspace_name: str

    @property
    def arm_id(self) -> str:
        """The workspace's ARM resource id."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )


def settings(ws: Workspace) -> AzureMLConfig:
    """The workspace's ``[azure_ml]`` section; ConfigError when there is none."""
    section = ws.config.azure_ml
    if section is None:
        raise ConfigError(
            "this workspace has no [azure_ml] section; add one to cloudml.toml "
            "(see docs/azureml.md) to train and deploy on Azure ML"
        )
    return section


def _find_config_json(start: Path) -> Path | None:
    folder = start.resolve()
    for _ in range(_MAX_PARENTS):
        for sub in _CONFIG_DIRS:
            candidate = folder / sub / "config.json"
            if candidate.is_file():
                return candidate
        if folder.parent == folder:
            return None
        folder = folder.parent
    return None


def scope_of(ws: Workspace) -> Scope:
    """The workspace ids from ``[azure_ml]``, completed from ``config.json`` when left out."""
    cfg = settings(ws)
    ids = {
        "subscription_id": cfg.subscription_id,
        "resource_group": cfg.resource_group,
        "workspace_name": cfg.workspace_name,
    }
    if not all(ids.values()):
        found = Path(cfg.config_file) if cfg.config_file else _find_config_json(Path.cwd())
        if found is None or not found.is_file():
            missing = ", ".join(k for k, v in ids.items() if not v)
            raise ConfigError(
                f"[azure_ml] lacks {missing} and no Azure ML config.json was found; set them in "
                "cloudml.toml or download config.json from the workspace's overview page in the "
                "Azure portal into .azureml/"
            )
        try:
            data = json.loads(read_config_text(found, what="Azure ML config.json"))
        except ValueError as exc:
            raise ConfigError(f"{found} is not a readable Azure ML config.json: {exc}") from exc
        for key in ids:
            ids[key] = ids[key] or str(data.get(key) or "")
        if not all(ids.values()):
            raise ConfigError(
                f"{found} lacks subscription_id, resource_group or workspace_name; download it "
                "again from the Azure portal"
            )
    return Scope(**ids)


def use_credential(ws: Workspace, credential: TokenCredential) -> None:
    """Use ``credential`` (any azure-core ``TokenCredential``) for this workspace's Azure ML calls."""
    _credentials[ws] = credential
    _clients.pop(ws, None)


def credential_for(ws: Workspace) -> TokenCredential:
    """The attached credential, else ``DefaultAzureCredential`` (made once per workspace);
    with ``[azure_ml] tenant_id``, every token is asked for in that tenant."""
    found = _credentials.get(ws)
    tenant = settings(ws).tenant_id
    if found is None:
        from azure.identity import DefaultAzureCredential

        allowed = [tenant] if tenant else []
        found = _credentials[ws] = DefaultAzureCredential(additionally_allowed_tenants=allowed)
    return _InTenant(found, tenant) if tenant else found


class _InTenant:
    """A credential asking every token of ``tenant`` (a guest's home tenant is refused)."""

    def __init__(self, inner: TokenCredential, tenant: str) -> None:
        self.inner, self.tenant = inner, tenant

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self.inner.get_token(*scopes, **{**kwargs, "tenant_id": self.tenant})


def client_for(ws: Workspace) -> MLClient:
    """The workspace's ``MLClient`` (no request is made until it is used)."""
    client = _clients.get(ws)
    if client is None:
        from azure.ai.ml import MLClient

        cfg, scope, bounds = settings(ws), scope_of(ws), ws.config.timeouts
        client = MLClient(
            credential_for(ws),
            scope.subscription_id,
            scope.resource_group,
            scope.workspace_name,
            show_progress=False,
            enable_telemetry=False,
            retry_total=cfg.retry_total,
            retry_backoff_factor=cfg.retry_backoff,
            retry_backoff_max=60,
            connection_timeout=bounds.connect,
            read_timeout=bounds.read,
        )
        _clients[ws] = client
    return client


def owned_name(ws: Workspace, name: str, *, limit: int = 32) -> str:
    """``<owner>-<name>`` in the lowercase, hyphenated form Azure ML names accept."""
    raw = f"{ws.owner}-{name}".lower()
    cleaned = "".join(c if c.isalnum() else "-" for c in raw).strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned[:limit].rstrip("-")


def owner_tags(ws: Workspace, **extra: str) -> dict[str, str]:
    """The tags every created resource carries: owner and library."""
    from cloudml_edu._version import __version__

    return {OWNER_TAG: ws.owner, "cloudml.version": __version__, **extra}


def translate(exc: BaseException, *, action: str, ws: Workspace | None = None) -> CloudMLError:
    """Map an azure-core / azure-ai-ml exception to a :class:`CloudMLError` naming the next step.

    The class comes from the one status table (:func:`cloudml_edu._http.error_class`);
    the message says what to do about it on Azure ML.
    """
    from azure.core.exceptions import ClientAuthenticationError

    if isinstance(exc, CloudMLError):
        return exc
    where = f"Azure ML workspace {scope_of(ws).workspace_name}" if ws is not None else "Azure ML"
    status = getattr(exc, "status_code", None)
    code = _error_code(exc)
    message = redact(_first_line(getattr(exc, "message", None) or str(exc)))
    if isinstance(exc, ClientAuthenticationError) and not status:
        # no token at all: nothing was sent, so nothing was refused
        return AuthError(
            f"{action}: no Azure sign-in found, nothing was sent to {where}; run `az login` "
            "(with `--tenant TENANT_ID` for a guest account) or set AZURE_CLIENT_ID/"
            "AZURE_TENANT_ID/AZURE_CLIENT_SECRET (`--debug` lists every credential tried)"
        )
    if not isinstance(status, int):
        return ServiceError(f"{action}: {where} failed: {type(exc).__name__}: {message}")
    detail = f"HTTP {status} {code}: {message}"
    kind = error_class(status, f"{code} {message}")
    special = _refusal(code, message, detail)
    if special is not None:
        return AuthError(f"{action}: {where} {special}")
    return kind(
        f"{action}: {where} " + _NEXT_STEP.get(kind, _NEXT_STEP[ServiceError]).format(detail)
    )


_TENANT = re.compile(r"must match the tenant 'https://sts\.windows\.net/([^/']+)/?'")
_ACTION = re.compile(r"perform action '([^']+)'")


def _refusal(code: str, message: str, detail: str) -> str | None:
    """The next step for Azure's refusals that say exactly what is wrong (tenant, role)."""
    if code == "InvalidAuthenticationTokenTenant":
        found = _TENANT.search(message)
        tenant = found.group(1) if found else "<the subscription's tenant id>"
        return (
            f'refused a token of another tenant ({detail}); set tenant_id = "{tenant}" in '
            "[azure_ml] (the subscription's tenant: a guest account signs in to its home "
            "tenant by default)"
        )
    if code == "AuthorizationFailed":
        found = _ACTION.search(message)
        action = found.group(1) if found else "this operation"
        if "/computes/" in action:
            return (
                f"does not let your role do {action} ({detail}); the AzureML Data Scientist "
                "role cannot create or delete compute: keep serverless = true in [azure_ml], "
                "or ask your instructor for a cluster and set compute = its name"
            )
        return (
            f"does not let your role do {action} ({detail}); ask the workspace's admin for a "
            "role that allows it (AzureML Data Scientist covers jobs, models and endpoints)"
        )
    if code in ("AuthorizationPermissionMismatch", "AuthorizationFailure"):
        return (
            f"could not read the data with your identity ({detail}); ask the storage account's "
            "admin for the Storage Blob Data Reader role on it"
        )
    return None


#: Each error class's message on Azure ML; ``{}`` is the HTTP status, code and message.
_NEXT_STEP: dict[type[CloudMLError], str] = {
    AuthError: "refused the credentials ({}); run `az login` (or set AZURE_CLIENT_ID/"
    "AZURE_TENANT_ID/AZURE_CLIENT_SECRET), with tenant_id in [azure_ml] if your account is a "
    "guest in the subscription's tenant; `cloudml-edu doctor` checks sign-in, tenant and roles",
    QuotaError: "has no quota left ({}); use a smaller vm_size or instance_type, delete idle "
    "endpoints/clusters (`cloudml-edu cleanup`), or request more quota in the Azure portal",
    NotFoundError: "has no such resource ({}); check subscription_id, resource_group and "
    "workspace_name in [azure_ml] and the name you asked for",
    ThrottledError: "kept throttling requests ({}) after retries; wait a minute and run it again",
    ConfigError: "refused the request ({}); check the names and sizes in [azure_ml] and any "
    "backend_options you passed",
    ServiceError: "answered {}; run it again later (Azure status: https://azure.status.microsoft)",
}


def _error_code(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    code: Any = getattr(error, "code", None) or ""
    if not code:
        response = getattr(exc, "response", None)
        if response is not None:
            code = response.headers.get("x-ms-error-code", "")
    return str(code)


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].removeprefix("(") if lines else ""
