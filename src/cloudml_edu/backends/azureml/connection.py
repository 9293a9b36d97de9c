"""One ``MLClient`` per workspace, made lazily, and Azure errors mapped to the library's.

Settings come from ``[azure_ml]`` or Azure ML's own ``config.json``.  The
credential is ``DefaultAzureCredential`` unless one was attached with
:func:`use_credential` (tests, notebooks with a custom identity).  Retries of
429/5xx answers are azure-core's, bounded by ``[azure_ml] retry_total``; every
request's connect and read timeouts are the workspace's ``[timeouts]``.
"""

from __future__ import annotations

import json
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
    """The attached credential, else ``DefaultAzureCredential`` (made once per workspace)."""
    found = _credentials.get(ws)
    if found is None:
        from azure.identity import DefaultAzureCredential

        found = _credentials[ws] = DefaultAzureCredential()
    return found


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
        status = 401  # no token at all: the same next step as a refused one
    if not isinstance(status, int):
        return ServiceError(f"{action}: {where} failed: {type(exc).__name__}: {message}")
    detail = f"HTTP {status} {code}: {message}"
    kind = error_class(status, f"{code} {message}")
    return kind(
        f"{action}: {where} " + _NEXT_STEP.get(kind, _NEXT_STEP[ServiceError]).format(detail)
    )


#: Each error class's message on Azure ML; ``{}`` is the HTTP status, code and message.
_NEXT_STEP: dict[type[CloudMLError], str] = {
    AuthError: "refused the credentials ({}); run `az login` or set AZURE_CLIENT_ID/"
    "AZURE_TENANT_ID/AZURE_CLIENT_SECRET, and check that the identity has the AzureML Data "
    "Scientist role on the workspace",
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
