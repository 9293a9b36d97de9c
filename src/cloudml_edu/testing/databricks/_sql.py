"""SQL warehouses and the Statement Execution API of the fake, over a small hive metastore.

Statements run on the warehouse only when it is RUNNING (a stopped one must be
started; a statement sent to it fails as the fake's way of showing a start
that ran into the statement's bound).  ``CREATE TABLE ... LOCATION`` needs the
legacy ``ANY FILE`` grant unless the student is an admin, and every
``hive_metastore`` statement fails when the account has legacy access off.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cloudml_edu.testing._http import Reply, SentRequest, json_reply
from cloudml_edu.testing.databricks._routes import Routes, error

if TYPE_CHECKING:
    from cloudml_edu.testing.databricks import FakeDatabricks

__all__ = ["SqlService"]

HIVE_DISABLED = (
    "[UC_HIVE_METASTORE_DISABLED_EXCEPTION] The operation attempted to use Hive Metastore, "
    "which is disabled due to legacy access being turned off in your account or workspace."
)
NO_ANY_FILE = (
    "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have permission "
    "SELECT on any file."
)


def _failed(message: str, code: str = "BAD_REQUEST") -> dict[str, Any]:
    return {"status": {"state": "FAILED", "error": {"error_code": code, "message": message}}}


class SqlService(Routes):
    """``/api/2.0/sql/statements`` and ``/api/2.0/sql/warehouses/{id}``."""

    def __init__(self, fake: FakeDatabricks) -> None:
        super().__init__(fake)
        self.by_id: dict[str, dict[str, Any]] = {}
        self.failures: list[tuple[re.Pattern[str], str]] = []
        self.warehouse_states: list[str] = ["RUNNING"]
        self.started = 0
        self.route("POST", r"/api/2\.0/sql/statements/?", self._execute)
        self.route("GET", r"/api/2\.0/sql/statements/[^/]+", self._get_statement)
        self.route("GET", r"/api/2\.0/sql/warehouses/[^/]+", self._warehouse)
        self.route("POST", r"/api/2\.0/sql/warehouses/[^/]+/start", self._start)
        self.route("GET", r"/api/2\.0/sql/config/warehouses", self._config)
        #: The workspace's data access configuration; None: only an admin may read it.
        self.data_access: dict[str, str] | None = None

    def _config(self, request: SentRequest) -> Reply:
        if self.data_access is None:
            return error(403, "PERMISSION_DENIED", "Only workspace admins can read this setting.")
        pairs = [{"key": k, "value": v} for k, v in self.data_access.items()]
        return json_reply(200, {"data_access_config": pairs})

    # ---- warehouses ----------------------------------------------------------
    @property
    def warehouse_state(self) -> str:
        return self.warehouse_states[0]

    def _warehouse(self, request: SentRequest) -> Reply:
        warehouse = request.path.rsplit("/", 1)[1]
        if warehouse != self.fake.warehouse_id:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Warehouse {warehouse} does not exist.")
        state = self.warehouse_state
        if len(self.warehouse_states) > 1 and state != "STOPPED":
            self.warehouse_states.pop(0)  # STARTING moves on, one state per read
        return json_reply(200, {"id": warehouse, "name": "Starter Warehouse", "state": state})

    def _start(self, request: SentRequest) -> Reply:
        self.started += 1
        if self.warehouse_state == "STOPPED":
            self.warehouse_states = ["STARTING", "STARTING", "RUNNING"]
        return json_reply(200, {})

    # ---- statements ----------------------------------------------------------
    def _execute(self, request: SentRequest) -> Reply:
        text = str((request.body or {}).get("statement", ""))
        self.fake.statements.append(text)
        statement_id = f"01ef-{len(self.fake.statements):04d}"
        if self.warehouse_state != "RUNNING":
            found = _failed(
                "Statement timed out while the warehouse was starting", "DEADLINE_EXCEEDED"
            )
        else:
            found = self._run(text)
        self.by_id[statement_id] = found
        return json_reply(200, {"statement_id": statement_id, "status": {"state": "PENDING"}})

    def _get_statement(self, request: SentRequest) -> Reply:
        statement_id = request.path.rsplit("/", 1)[1]
        found = self.by_id.get(statement_id)
        if found is None:
            return error(404, "NOT_FOUND", f"statement {statement_id} not found")
        return json_reply(200, {"statement_id": statement_id, **found})

    def _run(self, text: str) -> dict[str, Any]:
        for pattern, message in self.failures:
            if pattern.search(text):
                return _failed(message)
        if not self.fake.hive_metastore and "hive_metastore" in text.lower():
            return _failed(HIVE_DISABLED)
        tables = self.fake.tables
        rows: list[list[str]] = []
        if created := re.match(
            r"\s*CREATE TABLE IF NOT EXISTS (\S+) .*LOCATION '([^']+)'(.*)", text, re.S | re.I
        ):
            if not self.fake.any_file:
                return _failed(NO_ANY_FILE)
            props = dict(re.findall(r"'([^']+)'\s*=\s*'([^']*)'", created.group(3)))
            tables.setdefault(
                created.group(1).lower(), {"location": created.group(2), "properties": props}
            )
        elif dropped := re.match(r"\s*DROP TABLE IF EXISTS (\S+)", text, re.I):
            tables.pop(dropped.group(1).lower(), None)
        elif shown := re.match(r"\s*SHOW TABLES IN (\S+)", text, re.I):
            schema = shown.group(1).lower()
            rows = [
                [name.split(".")[1], name.split(".")[2], "false"]
                for name in sorted(tables)
                if name.startswith(schema + ".")
            ]
        elif props_of := re.match(r"\s*SHOW TBLPROPERTIES (\S+)", text, re.I):
            table = tables.get(props_of.group(1).lower())
            if table is None:
                return _failed(
                    f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{props_of.group(1)}` cannot be found."
                )
            rows = [[k, v] for k, v in table["properties"].items()]
        return {
            "status": {"state": "SUCCEEDED"},
            "manifest": {"format": "JSON_ARRAY", "total_row_count": len(rows)},
            "result": {"data_array": rows, "row_count": len(rows)},
        }
