"""A fake Databricks workspace at the HTTP boundary: the real ``databricks-sdk`` runs against it.

Built on ``responses``: every request to :data:`FAKE_HOST` is answered here, like
the REST API would (jobs runs submit/get/get-output/cancel, workspace import,
SQL statements, MLflow runs, serving endpoints and invocations) and recorded.
Requests to 127.0.0.1 (Azurite, local MLflow servers) pass through.  The
``mock_databricks`` pytest fixture yields one; a test scripts outcomes on it::

    def test_failed_run(mock_databricks):
        mock_databricks.script_run(result="FAILED", error="ValueError: no label column")
        ...

What it records: :attr:`requests` (every call: method, path, query, parsed JSON
body), :attr:`statements` (SQL texts), :attr:`runs` (``jobs/runs/submit`` bodies).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import SecretStr

from cloudml_edu.config import StorageConfig
from cloudml_edu.testing._http import proto_double

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = [
    "FAKE_HOST",
    "FAKE_TOKEN",
    "FakeClock",
    "FakeDatabricks",
    "SentRequest",
    "fake_databricks",
]

FAKE_HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
#: A syntactically real personal access token, so the redaction patterns are exercised too.
FAKE_TOKEN = "dapi" + "0123456789abcdef" * 2
FAKE_WAREHOUSE = "0123456789abcdef"

Handler = Callable[["FakeDatabricks", "SentRequest"], tuple[int, Any]]


@dataclass
class SentRequest:
    """One request the client sent: method, path, query, parsed body, size and auth header."""

    method: str
    url: str
    path: str
    query: dict[str, str]
    body: Any
    nbytes: int
    authorization: str


@dataclass
class _Failure:
    method: str
    path: re.Pattern[str]
    status: int
    message: str
    times: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeClock:
    """A clock for the SDK's retries: ``sleep`` advances time instantly and is counted."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _trial(number: int, model: str, score: float, duration: float) -> dict[str, Any]:
    return {
        "run_id": f"trial{number:04d}",
        "model": model,
        "score": score,
        "duration": duration,
        "params": {"classifier": model},
    }


class FakeDatabricks:
    """The fake workspace's state and the scripts of its outcomes; see the module docstring."""

    host = FAKE_HOST
    token = FAKE_TOKEN
    warehouse_id = FAKE_WAREHOUSE
    user = "tester@example.edu"

    workspace: Workspace
    clock: FakeClock

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[SentRequest] = []
        self.statements: list[str] = []
        self.runs: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.canceled: list[int] = []
        self._failures: list[_Failure] = []
        self._statement_failures: list[tuple[re.Pattern[str], str]] = []
        self._statements_by_id: dict[str, dict[str, Any]] = {}
        self._run_gets: dict[int, int] = {}
        self._endpoint_gets: dict[str, int] = {}
        self.script_run()
        self.script_endpoint()
        self.trials = [
            _trial(1, "LogisticRegression(C=1.0)", 0.912, 41.0),
            _trial(2, "RandomForestClassifier(n_estimators=50)", 0.934, 63.0),
            _trial(3, "LGBMClassifier(num_leaves=31)", 0.951, 88.0),
        ]
        self.best_metrics: dict[str, float] = {
            "training_accuracy_score": 0.99,
            "val_accuracy_score": 0.95,
            "val_f1_score": 0.951,
            "val_precision_score": 0.952,
            "val_recall_score": 0.95,
            "val_log_loss": 0.17,
            "test_accuracy_score": 0.947,
            "test_f1_score": 0.946,
            "test_precision_score": 0.949,
            "test_recall_score": 0.947,
            "test_log_loss": 0.19,
        }

    # ---- scripting -----------------------------------------------------------
    def script_run(
        self,
        *,
        states: tuple[str, ...] = ("PENDING", "RUNNING", "TERMINATED"),
        result: str = "SUCCESS",
        error: str | None = None,
        minutes: float = 12.0,
    ) -> None:
        """The life cycle states ``runs/get`` walks through (one per call), and how the run ends."""
        self.run_states = states
        self.run_result = result
        self.task_error = error
        self.run_minutes = minutes

    def script_endpoint(self, *, not_ready_polls: int = 1, failure: str | None = None) -> None:
        """How many ``GET serving-endpoints/{name}`` answer NOT_READY first; or an update failure."""
        self.endpoint_not_ready = not_ready_polls
        self.endpoint_failure = failure

    def fail_statement(self, match: str, message: str) -> None:
        """Statements whose text matches the regex ``match`` end FAILED with ``message``."""
        self._statement_failures.append((re.compile(match, re.IGNORECASE | re.DOTALL), message))

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int,
        message: str = "scripted failure",
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``times`` requests to ``path`` (a regex) answer ``status`` with ``message``."""
        self._failures.append(
            _Failure(method.upper(), re.compile(path), status, message, times, dict(headers or {}))
        )

    # ---- what was sent -------------------------------------------------------
    def sent(self, method: str, path: str) -> list[SentRequest]:
        """The requests sent with ``method`` to a path matching the regex ``path``."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    @property
    def bytes_sent(self) -> int:
        return sum(r.nbytes for r in self.requests)

    # ---- the HTTP boundary ---------------------------------------------------
    def install(self, mock: Any) -> None:
        """Register the routes on a ``responses.RequestsMock``."""
        pattern = re.compile(re.escape(self.host) + r"/.*")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(method, pattern, callback=self._callback)
        mock.add_passthru(re.compile(r"http://(127\.0\.0\.1|localhost)[:/].*"))

    def _callback(self, prepared: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(prepared.url)
        raw = prepared.body or b""
        if isinstance(raw, str):
            raw = raw.encode()
        if not isinstance(raw, bytes):  # a stream (multipart upload)
            raw = raw.read() if hasattr(raw, "read") else b""
        sent = SentRequest(
            method=prepared.method,
            url=prepared.url,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            body=_parse_body(raw, prepared.headers.get("Content-Type", "")),
            nbytes=len(raw),
            authorization=prepared.headers.get("Authorization", ""),
        )
        with self._lock:
            self.requests.append(sent)
            failure = self._take_failure(sent)
            if failure is not None:
                body = {
                    "error_code": _ERROR_CODES.get(failure.status, "ERROR"),
                    "message": failure.message,
                }
                return (
                    failure.status,
                    {"Content-Type": "application/json", **failure.headers},
                    json.dumps(body),
                )
            if (
                sent.path != "/.well-known/databricks-config"
                and sent.authorization != f"Bearer {self.token}"
            ):
                body = {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."}
                return 401, {"Content-Type": "application/json"}, json.dumps(body)
            for (method, route), handler in _ROUTES.items():
                if method == sent.method and re.fullmatch(route, sent.path):
                    status, payload = handler(self, sent)
                    return status, {"Content-Type": "application/json"}, json.dumps(payload)
        return (
            404,
            {"Content-Type": "application/json"},
            json.dumps(
                {
                    "error_code": "ENDPOINT_NOT_FOUND",
                    "message": f"No API found for '{sent.method} {sent.path}'",
                }
            ),
        )

    def _take_failure(self, sent: SentRequest) -> _Failure | None:
        for failure in self._failures:
            if (
                failure.times > 0
                and failure.method == sent.method
                and failure.path.fullmatch(sent.path)
            ):
                failure.times -= 1
                return failure
        return None

    # ---- jobs --------------------------------------------------------------------
    def _submit(self, sent: SentRequest) -> tuple[int, Any]:
        self.runs.append(sent.body)
        run_id = 1000 + 10 * len(self.runs)
        self._run_gets[run_id] = 0
        return 200, {"run_id": run_id}

    def _run_of(self, run_id: int) -> dict[str, Any] | None:
        index = (run_id - 1000) // 10 - 1
        if run_id < 1010 or run_id % 10 or index >= len(self.runs):
            return None
        return self.runs[index]

    def _get_run(self, sent: SentRequest) -> tuple[int, Any]:
        run_id = int(sent.query.get("run_id", "0"))
        body = self._run_of(run_id)
        if body is None:
            return 400, {
                "error_code": "INVALID_PARAMETER_VALUE",
                "message": f"Run {run_id} does not exist.",
            }
        calls = self._run_gets[run_id] = self._run_gets[run_id] + 1
        result: str | None = "CANCELED"
        if run_id in self.canceled:
            life = "TERMINATED"
        else:
            life = self.run_states[min(calls, len(self.run_states)) - 1]
            result = (
                self.run_result if life in {"TERMINATED", "INTERNAL_ERROR", "SKIPPED"} else None
            )
        start = 1_800_000_000_000
        state: dict[str, Any] = {"life_cycle_state": life, "state_message": ""}
        run: dict[str, Any] = {
            "run_id": run_id,
            "run_name": body.get("run_name", ""),
            "run_page_url": f"{self.host}/?o=1234567890123456#job/0/run/{run_id}",
            "start_time": start,
            "state": state,
            "tasks": [
                {
                    "run_id": run_id + 1,
                    "task_key": task["task_key"],
                    "state": state,
                    "new_cluster": task.get("new_cluster", {}),
                }
                for task in body.get("tasks", [])
            ],
        }
        if result is not None:
            state["result_state"] = result
            if result != "SUCCESS":
                state["state_message"] = f"Task {body['tasks'][0]['task_key']} failed."
            run["end_time"] = start + int(self.run_minutes * 60_000)
        return 200, run

    def _get_output(self, sent: SentRequest) -> tuple[int, Any]:
        task_run = int(sent.query.get("run_id", "0"))
        body = self._run_of(task_run - 1)
        if body is None:
            return 400, {
                "error_code": "INVALID_PARAMETER_VALUE",
                "message": "Retrieving the output of runs with multiple tasks is not supported. "
                "Please retrieve the output of each individual task run instead.",
            }
        output: dict[str, Any] = {"metadata": {"run_id": task_run}, "logs": "AutoML: starting\n"}
        if self.task_error is not None or self.run_result != "SUCCESS":
            output["error"] = self.task_error or "the run did not succeed"
            output["error_trace"] = f"Traceback (most recent call last):\n  ...\n{output['error']}"
            return 200, output
        params = _flags(body["tasks"][0].get("spark_python_task", {}).get("parameters", []))
        best = max(self.trials, key=lambda t: t["score"])
        result = {
            "experiment_id": "4242",
            "experiment_url": f"{self.host}/ml/experiments/4242",
            "best_run_id": best["run_id"],
            "model_name": params.get("--model-name", "model"),
            "model_version": "1",
            "trials": self.trials,
        }
        output["logs"] += "CLOUDML_RESULT " + json.dumps(result) + "\n"
        return 200, output

    def _cancel(self, sent: SentRequest) -> tuple[int, Any]:
        self.canceled.append(int(sent.body["run_id"]))
        return 200, {}

    # ---- MLflow ----------------------------------------------------------------
    def _mlflow_run(self, sent: SentRequest) -> tuple[int, Any]:
        run_id = sent.query.get("run_id", "")
        if run_id not in {t["run_id"] for t in self.trials}:
            return 404, {
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": f"Run '{run_id}' not found.",
            }
        metrics = [
            {"key": k, "value": proto_double(v), "step": 0, "timestamp": 0}
            for k, v in self.best_metrics.items()
        ]
        info = {"run_id": run_id, "experiment_id": "4242", "status": "FINISHED"}
        return 200, {"run": {"info": info, "data": {"metrics": metrics}}}

    # ---- workspace files ---------------------------------------------------------
    def _import(self, sent: SentRequest) -> tuple[int, Any]:
        form = sent.body if isinstance(sent.body, dict) else {}
        self.uploads[str(form.get("path", ""))] = form.get("content", b"")
        return 200, {}

    # ---- SQL -------------------------------------------------------------------
    def _execute(self, sent: SentRequest) -> tuple[int, Any]:
        text = str(sent.body.get("statement", ""))
        self.statements.append(text)
        statement_id = f"01ef-{len(self.statements):04d}"
        self._statements_by_id[statement_id] = self._run_sql(text)
        return 200, {"statement_id": statement_id, "status": {"state": "PENDING"}}

    def _get_statement(self, sent: SentRequest) -> tuple[int, Any]:
        statement_id = sent.path.rsplit("/", 1)[1]
        found = self._statements_by_id.get(statement_id)
        if found is None:
            return 404, {
                "error_code": "NOT_FOUND",
                "message": f"statement {statement_id} not found",
            }
        return 200, {"statement_id": statement_id, **found}

    def _run_sql(self, text: str) -> dict[str, Any]:
        for pattern, message in self._statement_failures:
            if pattern.search(text):
                return {
                    "status": {
                        "state": "FAILED",
                        "error": {"error_code": "BAD_REQUEST", "message": message},
                    }
                }
        rows: list[list[str]] = []
        if created := re.match(
            r"\s*CREATE TABLE IF NOT EXISTS (\S+) .*LOCATION '([^']+)'(.*)", text, re.S | re.I
        ):
            props = dict(re.findall(r"'([^']+)'\s*=\s*'([^']*)'", created.group(3)))
            self.tables.setdefault(
                created.group(1).lower(), {"location": created.group(2), "properties": props}
            )
        elif dropped := re.match(r"\s*DROP TABLE IF EXISTS (\S+)", text, re.I):
            self.tables.pop(dropped.group(1).lower(), None)
        elif shown := re.match(r"\s*SHOW TABLES IN (\S+)", text, re.I):
            schema = shown.group(1).lower()
            rows = [
                [name.split(".")[1], name.split(".")[2], "false"]
                for name in sorted(self.tables)
                if name.startswith(schema + ".")
            ]
        elif props_of := re.match(r"\s*SHOW TBLPROPERTIES (\S+)", text, re.I):
            table = self.tables.get(props_of.group(1).lower())
            if table is None:
                message = f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{props_of.group(1)}` cannot be found."
                return {
                    "status": {
                        "state": "FAILED",
                        "error": {"error_code": "BAD_REQUEST", "message": message},
                    }
                }
            rows = [[k, v] for k, v in table["properties"].items()]
        return {
            "status": {"state": "SUCCEEDED"},
            "manifest": {"format": "JSON_ARRAY", "total_row_count": len(rows)},
            "result": {"data_array": rows, "row_count": len(rows)},
        }

    # ---- serving ---------------------------------------------------------------
    def _create_endpoint(self, sent: SentRequest) -> tuple[int, Any]:
        name = sent.body["name"]
        if name in self.endpoints:
            return 400, {
                "error_code": "RESOURCE_ALREADY_EXISTS",
                "message": f"Endpoint with name '{name}' already exists.",
            }
        self.endpoints[name] = {
            "name": name,
            "config": sent.body.get("config", {}),
            "tags": sent.body.get("tags", []),
        }
        self._endpoint_gets[name] = 0
        return 200, self._endpoint(name)

    def _update_config(self, sent: SentRequest) -> tuple[int, Any]:
        name = sent.path.split("/")[-2]
        if name not in self.endpoints:
            return 404, {
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": f"Endpoint '{name}' does not exist.",
            }
        self.endpoints[name]["config"] = sent.body
        self._endpoint_gets[name] = 0
        return 200, self._endpoint(name)

    def _endpoint(self, name: str) -> dict[str, Any]:
        found = self.endpoints[name]
        polls = self._endpoint_gets.get(name, 0)
        if self.endpoint_failure is not None and polls >= 1:
            state = {"ready": "NOT_READY", "config_update": "UPDATE_FAILED"}
        elif polls > self.endpoint_not_ready:
            state = {"ready": "READY", "config_update": "NOT_UPDATING"}
        else:
            state = {"ready": "NOT_READY", "config_update": "IN_PROGRESS"}
        return {
            "id": f"ep-{name}",
            "name": name,
            "state": state,
            **{k: v for k, v in found.items() if k != "name"},
        }

    def _get_endpoint(self, sent: SentRequest) -> tuple[int, Any]:
        name = sent.path.rsplit("/", 1)[1]
        if name not in self.endpoints:
            return 404, {
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": f"Endpoint '{name}' does not exist.",
            }
        self._endpoint_gets[name] = self._endpoint_gets.get(name, 0) + 1
        return 200, self._endpoint(name)

    def _list_endpoints(self, sent: SentRequest) -> tuple[int, Any]:
        return 200, {"endpoints": [self._endpoint(name) for name in self.endpoints]}

    def _delete_endpoint(self, sent: SentRequest) -> tuple[int, Any]:
        name = sent.path.rsplit("/", 1)[1]
        if self.endpoints.pop(name, None) is None:
            return 404, {
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": f"Endpoint '{name}' does not exist.",
            }
        return 200, {}

    def _invoke(self, sent: SentRequest) -> tuple[int, Any]:
        name = sent.path.split("/")[2]
        if name not in self.endpoints:
            return 404, {
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": f"Endpoint '{name}' does not exist.",
            }
        rows = sent.body.get("dataframe_split", {}).get("data", [])
        answer = [{"label": "0", "score": 0.9, "p:0": 0.9, "p:1": 0.1} for _ in rows]
        return 200, {"predictions": answer}


def _flags(parameters: list[str]) -> dict[str, str]:
    return dict(zip(parameters[::2], parameters[1::2], strict=False))


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if "multipart/form-data" in content_type:
        return _parse_multipart(raw, content_type)
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    boundary = content_type.split("boundary=", 1)[1].encode()
    form: dict[str, Any] = {}
    for part in raw.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        found = re.search(rb'name="([^"]+)"', head)
        if found:
            content = value.removesuffix(b"\r\n")
            key = found.group(1).decode()
            form[key] = content if key == "content" else content.decode()
    return form


_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}

_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", r"/\.well-known/databricks-config"): lambda fake, sent: (
        404,
        {"error_code": "NOT_FOUND", "message": "no"},
    ),
    ("POST", r"/api/2\.2/jobs/runs/submit"): FakeDatabricks._submit,
    ("GET", r"/api/2\.2/jobs/runs/get"): FakeDatabricks._get_run,
    ("GET", r"/api/2\.2/jobs/runs/get-output"): FakeDatabricks._get_output,
    ("POST", r"/api/2\.2/jobs/runs/cancel"): FakeDatabricks._cancel,
    ("GET", r"/api/2\.0/preview/scim/v2/Me"): lambda fake, sent: (200, {"userName": fake.user}),
    ("POST", r"/api/2\.0/workspace/mkdirs"): lambda fake, sent: (200, {}),
    ("POST", r"/api/2\.0/workspace/import"): FakeDatabricks._import,
    ("POST", r"/api/2\.0/sql/statements/?"): FakeDatabricks._execute,
    ("GET", r"/api/2\.0/sql/statements/[^/]+"): FakeDatabricks._get_statement,
    ("GET", r"/api/2\.0/mlflow/runs/get"): FakeDatabricks._mlflow_run,
    ("POST", r"/api/2\.0/serving-endpoints"): FakeDatabricks._create_endpoint,
    ("GET", r"/api/2\.0/serving-endpoints"): FakeDatabricks._list_endpoints,
    ("GET", r"/api/2\.0/serving-endpoints/[^/]+"): FakeDatabricks._get_endpoint,
    ("PUT", r"/api/2\.0/serving-endpoints/[^/]+/config"): FakeDatabricks._update_config,
    ("DELETE", r"/api/2\.0/serving-endpoints/[^/]+"): FakeDatabricks._delete_endpoint,
    ("POST", r"/serving-endpoints/[^/]+/invocations"): FakeDatabricks._invoke,
}


@contextmanager
def fake_databricks(
    root: Path, *, storage: StorageConfig | None = None, owner: str = "tester"
) -> Iterator[FakeDatabricks]:
    """Intercept HTTP to :data:`FAKE_HOST` and make every wait of the adapter instant.

    The yielded fake's ``workspace`` has ``[databricks]`` pointing at the fake host
    with :data:`FAKE_TOKEN`, and ``storage`` (default: local; the Databricks
    tables need an Azure Blob container, such as Azurite's).  Clear ``DATABRICKS_*``
    variables and point ``HOME`` at an empty folder first (the fixture does).
    """
    from cloudml_edu._lazy import require

    responses = require("responses", extra="dev")
    require("databricks.sdk", extra="databricks")
    from databricks.sdk.clock import Clock

    from cloudml_edu.backends.databricks.connection import Timing
    from cloudml_edu.config import CloudMLConfig, DatabricksConfig
    from cloudml_edu.workspace import Workspace

    class _SdkClock(FakeClock, Clock):
        """The fake clock, typed as the SDK's Clock."""

    fake = FakeDatabricks()
    fake.clock = _SdkClock()
    config = CloudMLConfig(
        owner=owner,
        root=root,
        storage=storage or StorageConfig(),
        databricks=DatabricksConfig(
            host=fake.host, token=SecretStr(fake.token), warehouse_id=fake.warehouse_id
        ),
    )
    fake.workspace = Workspace(config)
    saved = (Timing.clock, Timing.interval, Timing.max_interval)
    Timing.clock, Timing.interval, Timing.max_interval = fake.clock, 0.0, 0.0
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            fake.install(mock)
            yield fake
    finally:
        Timing.clock, Timing.interval, Timing.max_interval = saved
