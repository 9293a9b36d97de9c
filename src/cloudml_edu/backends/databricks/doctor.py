"""Preflight checks of a Databricks workspace (``cloudml-edu doctor``): read-only, nothing billed.

Each check is one :class:`~cloudml_edu.checks.Check` line naming the fix and
who makes it: the student (their config) or an admin (workspace or account).
Order: sign-in (the rest is skipped without it), Model Serving (the workspace
tier), Unity Catalog (a metastore, the catalog, the student's grants), the
registry, the runtime, and, for the lab's hive metastore tables, the
warehouse, its data access and hive_metastore itself.  Nothing is started:
a stopped warehouse is reported, not woken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudml_edu.checks import Check
from cloudml_edu.errors import CloudMLError

if TYPE_CHECKING:
    from cloudml_edu.config import DatabricksConfig
    from cloudml_edu.workspace import Workspace

__all__ = ["checks"]

TARGET = "databricks"


def _check(name: str, status: Any, detail: str, next_step: str = "") -> Check:
    return Check(TARGET, name, status, detail, next_step)


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", "") or "")


def _sign_in(client: Any, settings: DatabricksConfig) -> tuple[Check, str | None]:
    try:
        user = str(client.current_user.me().user_name)
    except Exception as exc:
        return (
            _check(
                "sign-in",
                "fail",
                f"{settings.host} refused the credentials ({type(exc).__name__})",
                "check [databricks] token or auth_type, or sign in again with az login (you)",
            ),
            None,
        )
    return _check("sign-in", "ok", f"signed in to {settings.host} as {user}"), user


def _serving(client: Any) -> Check:
    try:
        client.serving_endpoints.list().__iter__().__next__()
    except StopIteration:
        pass
    except Exception as exc:
        return _check(
            "model serving",
            "fail",
            f"Model Serving refused ({_code(exc) or type(exc).__name__})",
            "ask a workspace admin: Model Serving needs the Premium tier and must be enabled",
        )
    return _check("model serving", "ok", "Model Serving answers (Premium tier)")


def _unity(client: Any, ws: Workspace, settings: DatabricksConfig, user: str) -> list[Check]:
    from cloudml_edu.backends.databricks.unity import check_privileges

    try:
        found = client.metastores.current()
    except Exception as exc:
        return [
            _check(
                "unity catalog",
                "fail",
                f"no Unity Catalog metastore ({_code(exc) or type(exc).__name__})",
                'ask an account admin to assign a metastore, or set [databricks] registry = "workspace" '
                'and features = "hive_metastore" (you)',
            )
        ]
    done = [
        _check(
            "unity catalog",
            "ok",
            f"metastore assigned (default catalog {found.default_catalog_name or '?'})",
        )
    ]
    try:
        check_privileges(client, ws, settings, user)
    except CloudMLError as exc:
        done.append(_check("privileges", "fail", str(exc).split(":", 1)[0], _step(str(exc))))
    else:
        done.append(
            _check(
                "privileges",
                "ok",
                f"{user} may create models and volumes in {settings.catalog}.{ws.schema}",
            )
        )
    return done


def _step(message: str) -> str:
    """The fix part of a one-line refusal (after its first colon)."""
    return message.split(":", 1)[1].strip() if ":" in message else message


def _registry(client: Any, settings: DatabricksConfig) -> Check:
    from cloudml_edu.backends.databricks.unity import check_registry

    if settings.registry == "unity-catalog":
        return _check("registry", "ok", "models register to Unity Catalog")
    try:
        check_registry(client, settings, settings.host or "Databricks")
    except CloudMLError as exc:
        return _check("registry", "fail", "the legacy Workspace Model Registry", _step(str(exc)))
    return _check("registry", "ok", "the legacy Workspace Model Registry is on")


def _runtime(client: Any, settings: DatabricksConfig) -> Check:
    from cloudml_edu.backends.databricks.environment import runtime

    try:
        wanted = settings.spark_version or runtime(settings.runtime).spark_version
        offered = {v.key for v in client.clusters.spark_versions().versions or []}
    except CloudMLError as exc:
        return _check("runtime", "fail", settings.runtime, _step(str(exc)))
    except Exception as exc:
        return _check("runtime", "warn", f"could not list runtimes ({type(exc).__name__})")
    if wanted not in offered:
        return _check(
            "runtime",
            "fail",
            f"this workspace does not offer {wanted}",
            "set [databricks] runtime to an LTS ML runtime it lists (you)",
        )
    return _check("runtime", "ok", f"{wanted} is offered (AutoML, Python 3.11)")


def _hive(client: Any, ws: Workspace, settings: DatabricksConfig) -> list[Check]:
    from cloudml_edu.backends.databricks.tables import run_sql, warehouse_state

    if not settings.warehouse_id:
        return [
            _check(
                "warehouse",
                "fail",
                'features = "hive_metastore" needs a SQL warehouse',
                "set [databricks] warehouse_id (SQL Warehouses > Connection details) (you)",
            )
        ]
    try:
        state = warehouse_state(ws)
    except CloudMLError as exc:
        return [_check("warehouse", "fail", str(exc).split(";")[0], _step(str(exc)))]
    done = [_data_access(client, ws)]
    if state != "RUNNING":
        done.insert(
            0,
            _check(
                "warehouse",
                "warn",
                f"warehouse {settings.warehouse_id} is {state.lower()}",
                "it starts on first use (minutes, billed); hive_metastore not checked",
            ),
        )
        return done
    done.insert(0, _check("warehouse", "ok", f"warehouse {settings.warehouse_id} is running"))
    try:
        run_sql(ws, "SHOW SCHEMAS IN hive_metastore")
    except CloudMLError as exc:
        done.append(_check("hive_metastore", "fail", "hive_metastore refused", str(exc)))
    else:
        done.append(_check("hive_metastore", "ok", "hive_metastore answers"))
    return done


def _data_access(client: Any, ws: Workspace) -> Check:
    account = ws.config.storage.account_name or _account(ws)
    try:
        config = client.warehouses.get_workspace_warehouse_config()
    except Exception:
        return _check(
            "data access",
            "warn",
            "only a workspace admin can read the warehouses' data access configuration",
            f"ask a workspace admin to confirm it holds credentials for storage account {account}",
        )
    keys = [str(item.key) for item in config.data_access_config or []]
    if account and any(account in key for key in keys):
        return _check("data access", "ok", f"warehouses can read storage account {account}")
    return _check(
        "data access",
        "fail",
        f"warehouses have no credentials for storage account {account}",
        "ask a workspace admin to add it in SQL Admin settings > Data access configuration",
    )


def _account(ws: Workspace) -> str:
    from cloudml_edu.backends.databricks.tables import storage_location

    try:
        return storage_location(ws, "x").split("@", 1)[1].split(".", 1)[0]
    except CloudMLError:
        return "(none: [storage] is not Azure Blob)"


def checks(workspace: Workspace) -> list[Check]:
    """Every check of ``workspace``'s ``[databricks]`` section, in order (see the module doc)."""
    from cloudml_edu.backends.databricks.connection import client_for, databricks_config

    settings = databricks_config(workspace)
    try:
        client = client_for(workspace)
    except CloudMLError as exc:
        return [_check("sign-in", "fail", str(exc).split(";")[0], "fix [databricks] (you)")]
    first, user = _sign_in(client, settings)
    if user is None:
        return [first]
    steps: list[Callable[[], list[Check]]] = [
        lambda: [_serving(client)],
        lambda: _unity(client, workspace, settings, user),
        lambda: [_registry(client, settings)],
        lambda: [_runtime(client, settings)],
    ]
    if settings.features == "hive_metastore":
        steps.append(lambda: _hive(client, workspace, settings))
    found = [first]
    for step in steps:
        found.extend(step())
    return found
