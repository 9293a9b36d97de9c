"""One ``WorkspaceClient`` per workspace, built lazily from ``[databricks]``, and its errors.

The authentication method is always passed to the SDK as an explicit
``auth_type``: the SDK otherwise also reads ``DATABRICKS_*`` variables and
``~/.databrickscfg`` and refuses (or silently switches) when two methods are
configured.  ``retry_timeout_seconds`` bounds the SDK's own retries (429, 503,
connection errors; 300 s by default in the SDK), including the
``/.well-known/databricks-config`` probe it sends when the client is built.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from cloudml_edu._http import error_class
from cloudml_edu._lazy import require
from cloudml_edu._secrets import redact
from cloudml_edu.config import setting_name
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
    from databricks.sdk import WorkspaceClient

    from cloudml_edu.config import DatabricksConfig
    from cloudml_edu.workspace import Workspace

__all__ = [
    "AZURE_DATABRICKS_SCOPE",
    "Timing",
    "client_for",
    "databricks_config",
    "require_sdk",
    "sdk_arguments",
    "translate_error",
]

#: The Entra ID application of Azure Databricks: tokens for it sign in to any workspace.
AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"


#: Bound of the SDK's ``/.well-known/databricks-config`` probe (only OAuth sign-ins use its answer).
PROBE_SECONDS = 5


class Timing:
    """How the adapter waits; :func:`cloudml_edu.testing.databricks` swaps these for instant ones.

    ``clock`` is handed to the SDK (its retries sleep on it); ``interval`` and
    ``max_interval`` are the polling bounds of every waiter of this package.
    """

    clock: Any = None
    interval: float = 2.0
    max_interval: float = 30.0


_lock = threading.Lock()
_clients: weakref.WeakKeyDictionary[Workspace, WorkspaceClient] = weakref.WeakKeyDictionary()


def require_sdk() -> None:
    """ConfigError naming ``pip install 'cloudml-edu[databricks]'`` when databricks-sdk is missing."""
    require("databricks.sdk", extra="databricks")


def databricks_config(ws: Workspace) -> DatabricksConfig:
    """The workspace's ``[databricks]`` section, or ConfigError saying how to add one."""
    found = ws.config.databricks
    if found is None:
        raise ConfigError(
            "this workspace has no [databricks] section; add host and token (see "
            "docs/databricks.md) or use Workspace.local()"
        )
    return found


def _auth_type(cfg: DatabricksConfig) -> str:
    methods = cfg.methods()
    if cfg.auth_type is not None:
        return cfg.auth_type
    if len(methods) > 1:
        raise ConfigError(
            f"[databricks] configures {' and '.join(methods)}; set [databricks] auth_type to "
            "the one to use (CLOUDML_DATABRICKS__AUTH_TYPE)"
        )
    if not methods:
        raise ConfigError(
            "[databricks] has no credentials: set token (a personal access token), "
            'auth_type = "azure-cli" / "azure-identity", or profile (a ~/.databrickscfg section)'
        )
    return methods[0]


def sdk_arguments(cfg: DatabricksConfig, *, read_timeout: float = 60.0) -> dict[str, Any]:
    """Keyword arguments of ``databricks.sdk.core.Config`` for ``cfg`` (secrets included);
    ``read_timeout`` is the workspace's ``[timeouts] read``."""
    auth = _auth_type(cfg)
    args: dict[str, Any] = {
        "retry_timeout_seconds": cfg.retry_timeout_seconds,
        "http_timeout_seconds": read_timeout,
        "product": "cloudml-edu",
    }
    if cfg.host is not None:
        args["host"] = cfg.host
    elif auth != "profile":
        raise ConfigError(
            "[databricks] host is required (https://adb-<id>.<n>.azuredatabricks.net)"
        )
    if auth == "pat":
        if cfg.token is None:
            raise ConfigError('[databricks] auth_type = "pat" needs [databricks] token')
        args.update(auth_type="pat", token=cfg.token.get_secret_value())
    elif auth == "azure-client-secret":
        missing = [
            k
            for k in ("azure_tenant_id", "azure_client_id", "azure_client_secret")
            if getattr(cfg, k) is None
        ]
        if missing:
            raise ConfigError(f"[databricks] azure-client-secret needs {', '.join(missing)}")
        assert cfg.azure_client_secret is not None
        args.update(
            auth_type="azure-client-secret",
            azure_tenant_id=cfg.azure_tenant_id,
            azure_client_id=cfg.azure_client_id,
            azure_client_secret=cfg.azure_client_secret.get_secret_value(),
        )
    elif auth == "profile":
        if cfg.profile is None:
            raise ConfigError('[databricks] auth_type = "profile" needs [databricks] profile')
        args["profile"] = cfg.profile
    elif auth == "azure-identity":
        args["credentials_strategy"] = _azure_identity_strategy(cfg)
    else:
        args["auth_type"] = auth
    return args


def _azure_identity_strategy(cfg: DatabricksConfig) -> Any:
    """An SDK credentials strategy that asks azure-identity for Entra ID tokens."""
    from databricks.sdk.credentials_provider import credentials_strategy

    def headers_for(sdk_config: Any) -> Any:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
        cached: dict[str, Any] = {}

        def headers() -> dict[str, str]:
            token = cached.get("token")
            if token is None or token.expires_on - 60 < time.time():
                try:
                    token = credential.get_token(AZURE_DATABRICKS_SCOPE)
                except Exception as exc:
                    raise AuthError(
                        "no Entra ID token for Azure Databricks from azure-identity: run `az login` "
                        f"or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET ({exc})"
                    ) from exc
                cached["token"] = token
            return {"Authorization": f"Bearer {token.token}"}

        return headers

    decorate: Any = credentials_strategy("azure-identity", ["host"])
    return decorate(headers_for)


def client_for(ws: Workspace) -> WorkspaceClient:
    """The workspace's ``WorkspaceClient``, built at first use and then reused."""
    with _lock:
        found = _clients.get(ws)
    if found is not None:
        return found
    cfg = databricks_config(ws)
    args = sdk_arguments(cfg, read_timeout=ws.config.timeouts.read)
    require_sdk()
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config

    try:
        # The well-known probe made while building Config retries on the real clock: keep it short.
        probe = {**args, "retry_timeout_seconds": min(PROBE_SECONDS, cfg.retry_timeout_seconds)}
        sdk_config = Config(clock=Timing.clock, **probe)
        sdk_config.retry_timeout_seconds = cfg.retry_timeout_seconds
    except ValueError as exc:
        raise ConfigError(
            f"cannot set up the Databricks client for {cfg.host or cfg.profile}: "
            f"{redact(str(exc)).splitlines()[0]}; check {setting_name('databricks', 'host')} "
            "and the rest of [databricks] in your config"
        ) from exc
    client = WorkspaceClient(config=sdk_config)
    with _lock:
        _clients[ws] = client
    return client


def _status_of(exc: BaseException) -> int:
    """The HTTP status behind an SDK error (the SDK maps statuses to these classes)."""
    from databricks.sdk import errors

    for kind, status in (
        (errors.Unauthenticated, 401),
        (errors.PermissionDenied, 403),
        (errors.NotFound, 404),
        (errors.ResourceConflict, 409),
        (errors.TooManyRequests, 429),
        (errors.BadRequest, 400),
        (errors.TemporarilyUnavailable, 503),
    ):
        if isinstance(exc, kind):
            return status
    return 500


#: Each error class's next step on Databricks; the class comes from the one status table.
_NEXT_STEP: dict[type[CloudMLError], str] = {
    AuthError: "check [databricks] token (or sign in again with az login)",
    NotFoundError: "check its name",
    ThrottledError: "run it again later",
    QuotaError: "a quota is used up, so waiting will not help: stop what you no longer need "
    "(`cloudml-edu cleanup`) or ask the workspace admin for more",
    ConfigError: "fix what it names (a conflict: check its state in the Databricks UI)",
    ServiceError: "run it again later",
}
#: An AuthError for a 403: signed in, but without the permission the answer names.
_FORBIDDEN_STEP = "ask the workspace admin for the permission it names"


def translate_error(exc: BaseException, *, action: str, where: str) -> CloudMLError:
    """A :class:`CloudMLError` for an SDK or HTTP failure, naming what failed and what to do.

    The class follows the library's one HTTP policy (:func:`cloudml_edu._http.error_class`):
    401/403 AuthError, 404 NotFoundError, 429 ThrottledError, quota QuotaError.
    """
    from databricks.sdk import errors
    from databricks.sdk.errors.base import DatabricksError

    if isinstance(exc, CloudMLError):
        return exc
    detail = redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, DatabricksError):
        status = _status_of(exc)
        kind = error_class(status, detail)
        step = _NEXT_STEP.get(kind, _NEXT_STEP[ServiceError])
        if kind is AuthError and status == 403:
            step = _FORBIDDEN_STEP
        verb = "rejected the credentials" if status == 401 else "answered"
        return kind(f"{action}: {where} {verb} ({detail}); {step}")
    if isinstance(exc, TimeoutError) and "Timed out after" in str(exc):
        cause = exc.__cause__
        if isinstance(cause, errors.TooManyRequests | errors.TemporarilyUnavailable):
            return ThrottledError(
                f"{action}: {where} kept answering {type(cause).__name__} until the retry bound "
                "([databricks] retry_timeout_seconds); run it again later"
            )
        return ServiceError(
            f"{action}: could not reach {where} within the retry bound ({detail}); check "
            f"{setting_name('databricks', 'host')} and your network"
        )
    return ServiceError(f"{action}: {where} failed: {detail}; run it again later")
