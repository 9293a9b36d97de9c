"""Datasets as hive metastore tables, created with the SQL Statement Execution API.

A registered dataset version is an external table
``hive_metastore.<owner's schema>.<name>`` over the packed layout's Parquet
shards in the storage account (``abfss://<container>@<account>.dfs.core.windows.net/...``).
What the local catalog keeps in SQLite (version, prefix, counts, fingerprint)
travels as table properties, so ``Dataset.load`` finds the version from the
table alone.  Statements run on ``[databricks] warehouse_id``; a FAILED
statement does not raise in the SDK, so :func:`run_sql` reads its status.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from cloudml_edu._polling import wait_until
from cloudml_edu.backends.databricks import known
from cloudml_edu.backends.databricks.connection import (
    Timing,
    client_for,
    databricks_config,
    require_sdk,
    translate_error,
)
from cloudml_edu.catalog import CATALOG, CatalogEntry, table_name
from cloudml_edu.errors import AuthError, BackendError, ConfigError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu.manifest import Manifest
    from cloudml_edu.workspace import Workspace

__all__ = [
    "DatabricksTables",
    "catalog_for",
    "create_table_sql",
    "quote",
    "run_sql",
    "schema_sql",
    "storage_location",
]

#: Longest wait for one statement, unless the caller passes its own.
STATEMENT_TIMEOUT = 300.0
#: Longest wait for a stopped or starting warehouse (a classic one takes minutes).
WAREHOUSE_START_TIMEOUT = 900.0
# Refusals of the hive metastore, and what to say (who fixes it).
_HIVE_REFUSALS = (
    (
        re.compile(r"HIVE_METASTORE_DISABLED|hive metastore is disabled|legacy access", re.I),
        "this account has the hive_metastore (legacy access) disabled: ask an account admin to "
        'enable legacy features, or use [databricks] features = "volume" (you)',
    ),
    (
        re.compile(r"ANY[_ ]FILE", re.I),
        "you lack SELECT and MODIFY ON ANY FILE (legacy table ACLs): ask a workspace admin to "
        "run GRANT SELECT, MODIFY ON ANY FILE TO `{user}`",
    ),
    (
        re.compile(r"INSUFFICIENT_PERMISSIONS|PERMISSION_DENIED|does not have \w+ privilege", re.I),
        "you lack a hive_metastore privilege ({message}): ask a workspace admin to run "
        "GRANT USAGE, CREATE ON CATALOG hive_metastore TO `{user}`",
    ),
)
_TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "CLOSED"}
# Words in a warehouse's error when it cannot read the storage account.
_STORAGE_DENIED = re.compile(
    r"abfss|credential|AuthorizationPermissionMismatch|AuthorizationFailure|403|"
    r"Failure to initialize configuration|Unable to access container|storage account",
    re.IGNORECASE,
)
_PROPERTY = "cloudml."


def quote(text: str) -> str:
    """A SQL string literal: ``it's`` -> ``'it\\'s'``."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def storage_location(ws: Workspace, prefix: str) -> str:
    """The ``abfss://`` URL of ``prefix`` in the workspace's blob container."""
    if ws.config.storage.kind != "azure_blob":
        raise ConfigError(
            "Databricks tables read the dataset from Azure Blob Storage: set [storage] "
            'kind = "azure_blob" (with account_name and a credential) in your config'
        )
    from cloudml_edu.storage.blob import BlobStore, _account_from_url

    store = ws.store
    assert isinstance(store, BlobStore)
    account = _account_from_url(store.account_url)
    return f"abfss://{store.container}@{account}.dfs.core.windows.net/{prefix}"


def schema_sql(ws: Workspace) -> str:
    """``CREATE SCHEMA IF NOT EXISTS`` for the owner's schema."""
    return (
        f"CREATE SCHEMA IF NOT EXISTS {CATALOG}.{ws.schema} "
        f"COMMENT {quote('cloudml-edu datasets of ' + ws.owner)}"
    )


def create_table_sql(full_name: str, location: str, properties: dict[str, str]) -> str:
    """``CREATE TABLE IF NOT EXISTS ... USING PARQUET LOCATION ... TBLPROPERTIES (...)``."""
    props = ", ".join(f"{quote(k)} = {quote(v)}" for k, v in properties.items())
    return (
        f"CREATE TABLE IF NOT EXISTS {full_name} USING PARQUET "
        f"LOCATION {quote(location)} TBLPROPERTIES ({props})"
    )


def run_sql(
    ws: Workspace, statement: str, *, timeout: float = STATEMENT_TIMEOUT
) -> list[list[str | None]]:
    """Run ``statement`` on the configured warehouse, wait (bounded) and return its rows.

    Raises BackendError with the SQL error when it fails, ConfigError when the
    warehouse cannot read the storage account or no warehouse is configured.
    """
    cfg = databricks_config(ws)
    if not cfg.warehouse_id:
        raise ConfigError(
            "[databricks] warehouse_id is not set: copy the ID of a SQL warehouse "
            "(SQL Warehouses > your warehouse > Connection details) into your config"
        )
    client = client_for(ws)
    where = f"SQL warehouse {cfg.warehouse_id}"
    from databricks.sdk.service.sql import ExecuteStatementRequestOnWaitTimeout

    ensure_warehouse(ws)

    try:
        response = client.statement_execution.execute_statement(
            statement=statement,
            warehouse_id=cfg.warehouse_id,
            wait_timeout="10s",
            on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CONTINUE,
        )
    except Exception as exc:
        raise translate_error(exc, action="run SQL", where=where) from exc
    statement_id = response.statement_id or ""

    def state_of() -> str:
        status = response.status
        return status.state.value if status and status.state else "PENDING"

    def check(elapsed: float) -> bool:
        nonlocal response
        if state_of() in _TERMINAL:
            return True
        try:
            response = client.statement_execution.get_statement(statement_id)
        except Exception as exc:
            raise translate_error(exc, action="read SQL statement status", where=where) from exc
        return state_of() in _TERMINAL

    wait_until(
        check,
        timeout=timeout,
        describe=lambda elapsed: f"SQL on {where}: {state_of()} ({elapsed:.0f} s)",
        interval=Timing.interval,
        max_interval=Timing.max_interval,
    )
    if state_of() != "SUCCEEDED":
        error = response.status.error if response.status else None
        message = (error.message if error else None) or state_of()
        first = statement.split(" (", 1)[0][:120]
        for pattern, advice in _HIVE_REFUSALS:
            if pattern.search(message):
                user = cfg.single_user_name or str(known.recall(ws).get("user", "<you>"))
                raise ConfigError(advice.format(user=user, message=message.split(".")[0]))
        if _STORAGE_DENIED.search(message):
            raise ConfigError(
                f"{where} cannot read the storage account ({message}); grant the warehouse "
                "access: in SQL > Admin settings > Data access configuration add the storage "
                "account key or a service principal with the 'Storage Blob Data Reader' role on "
                f"account {ws.config.storage.account_name or '(see [storage])'}"
            )
        raise BackendError(f"SQL statement {first!r} {state_of()}: {message}")
    rows = response.result.data_array if response.result else None
    return [list(row) for row in rows or []]


def warehouse_state(ws: Workspace) -> str:
    """The configured warehouse's state (``RUNNING``, ``STOPPED``, ``STARTING``...)."""
    cfg = databricks_config(ws)
    try:
        found = client_for(ws).warehouses.get(cfg.warehouse_id or "")
    except Exception as exc:
        raise translate_error(
            exc, action="read the SQL warehouse", where=f"warehouse {cfg.warehouse_id}"
        ) from exc
    return found.state.value if found.state else "STOPPED"


def ensure_warehouse(ws: Workspace, *, timeout: float = WAREHOUSE_START_TIMEOUT) -> None:
    """Start the warehouse if it is stopped and wait (bounded) until it runs, so a statement
    never spends its own bound on the warehouse's start."""
    cfg = databricks_config(ws)
    where = f"SQL warehouse {cfg.warehouse_id}"
    state = warehouse_state(ws)
    if state == "RUNNING":
        return
    if state in ("DELETED", "DELETING"):
        raise ConfigError(
            f"{where} is {state.lower()}: set [databricks] warehouse_id to a warehouse you can "
            "use (SQL Warehouses lists them)"
        )
    if state in ("STOPPED", "STOPPING"):
        try:
            client_for(ws).warehouses.start(cfg.warehouse_id or "")
        except Exception as exc:
            error = translate_error(exc, action=f"start {where}", where=where)
            if isinstance(error, AuthError) and _status_code(exc) == 403:  # the one status table's
                error = AuthError(
                    f"you may not start {where}: ask a workspace admin for CAN USE on it, or to start it"
                )
            raise error from exc

    def running(elapsed: float) -> bool:
        nonlocal state
        state = warehouse_state(ws)
        return state == "RUNNING"

    wait_until(
        running,
        timeout=timeout,
        describe=lambda elapsed: (
            f"{where}: {state.lower()} ({elapsed:.0f} s; a start takes minutes)"
        ),
        interval=Timing.interval,
        max_interval=Timing.max_interval,
    )


def _status_code(exc: BaseException) -> int:
    from databricks.sdk import errors

    return 403 if isinstance(exc, errors.PermissionDenied) else 0


def catalog_for(ws: Workspace) -> DatabricksTables | None:
    """The hive metastore tables of ``ws`` when ``[databricks]`` names a SQL warehouse, else
    None (datasets stay in the local catalog); the ``catalog`` of the databricks target."""
    settings = ws.config.databricks
    return DatabricksTables(ws) if settings is not None and settings.warehouse_id else None


class DatabricksTables:
    """The dataset catalog on Databricks: same calls as the local :class:`~cloudml_edu.catalog.Catalog`."""

    #: Tables read the packed layout (Parquet shards), so datasets are uploaded packed.
    packed: ClassVar[bool] = True

    def __init__(self, ws: Workspace) -> None:
        databricks_config(ws)
        require_sdk()
        self.ws = ws

    def register(
        self,
        manifest: Manifest,
        *,
        store_url: str,
        schema: str,
        name: str | None,
        prefix: str,
    ) -> str:
        """Create (or replace) the external table of ``manifest`` stored at ``prefix``; returns its name."""
        if manifest.layout != "parquet":
            raise ConfigError(
                f"dataset {manifest.name} v{manifest.version} is in the 'files' layout; Databricks "
                'tables read Parquet: upload it with layout="parquet" first'
            )
        full = table_name(name or manifest.name, schema=schema)
        properties = {
            "cloudml.owner": manifest.owner,
            "cloudml.version": manifest.version,
            "cloudml.prefix": prefix,
            "cloudml.store_url": store_url,
            "cloudml.images": str(len(manifest.records)),
            "cloudml.classes": str(len(manifest.classes)),
            "cloudml.bytes": str(manifest.total_bytes),
            "cloudml.fingerprint": manifest.fingerprint(),
            "cloudml.created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        location = storage_location(self.ws, prefix + "/shards")
        run_sql(self.ws, schema_sql(self.ws))
        run_sql(self.ws, f"DROP TABLE IF EXISTS {full}")
        run_sql(self.ws, create_table_sql(full, location, properties))
        return full

    def get(self, name: str, *, version: str | None = None, schema: str) -> CatalogEntry:
        """The registered version behind table ``name`` (NotFoundError if absent or another version)."""
        full = table_name(name, schema=schema)
        try:
            rows = run_sql(self.ws, f"SHOW TBLPROPERTIES {full}")
        except BackendError as exc:
            if "TABLE_OR_VIEW_NOT_FOUND" not in str(exc):
                raise
            raise NotFoundError(
                f"table {full} does not exist on Databricks; call Dataset.register(ws, "
                "name=...) first, or list tables with `cloudml-edu dataset list`"
            ) from exc
        props = {str(k): str(v) for k, v in rows if k is not None and k.startswith(_PROPERTY)}
        if "cloudml.prefix" not in props:
            raise NotFoundError(
                f"table {full} was not registered by cloudml-edu (no cloudml.* properties)"
            )
        if version is not None and props.get("cloudml.version") != version:
            raise NotFoundError(
                f"table {full} holds version {props.get('cloudml.version')}, not {version}; "
                "register that version again"
            )
        return CatalogEntry(
            full_name=full,
            version=props.get("cloudml.version", "1"),
            store_url=props.get("cloudml.store_url", ""),
            prefix=props["cloudml.prefix"],
            layout="parquet",
            images=int(props.get("cloudml.images", "0")),
            classes=int(props.get("cloudml.classes", "0")),
            bytes=int(props.get("cloudml.bytes", "0")),
            fingerprint=props.get("cloudml.fingerprint", ""),
            created=props.get("cloudml.created", ""),
        )

    def list(self) -> list[CatalogEntry]:
        """The owner's registered tables (one request per table to read its properties)."""
        try:
            rows = run_sql(self.ws, f"SHOW TABLES IN {CATALOG}.{self.ws.schema}")
        except BackendError as exc:
            if "SCHEMA_NOT_FOUND" in str(exc):
                return []
            raise
        entries = []
        for row in rows:
            try:
                entries.append(self.get(f"{row[0]}.{row[1]}", schema=self.ws.schema))
            except NotFoundError:  # a table someone made by hand
                continue
        return entries

    def delete(self, name: str, *, version: str, schema: str) -> None:
        """Drop the table if it holds ``version`` (external: its Parquet files stay for the caller)."""
        try:
            self.get(name, version=version, schema=schema)
        except NotFoundError:
            return
        run_sql(self.ws, f"DROP TABLE IF EXISTS {table_name(name, schema=schema)}")
