"""A tracking server that behaves like Azure ML's MLflow endpoint: runs and metrics, no logged models.

Jobs in the twin log to it over HTTP (``MLFLOW_TRACKING_URI``), as jobs on Azure
ML log to the workspace's tracking server; the fake's MLflow routes read the same
store, so the metrics the library reads back are the ones the job logged.  Like
Azure ML (Azure/azure-sdk-for-python#44896), ``/api/2.0/mlflow/logged-models``
answers 404 with an empty body: MLflow 3's ``log_model`` fails here as it does there.
Artifacts go to a local folder (the run's ``artifact_uri`` is a ``file://`` path).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cloudml_edu.testing._http import proto_double

__all__ = ["TrackingServer", "TrackingStore"]

Answer = tuple[int, Any]  # status, JSON payload (None: empty body)
_API = "/api/2.0/mlflow/"


@dataclass
class _Run:
    info: dict[str, Any]
    metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        latest = [
            {**history[-1], "value": proto_double(history[-1]["value"])}
            for history in self.metrics.values()
        ]
        return {
            "info": dict(self.info),
            "data": {
                "metrics": latest,
                "params": [{"key": k, "value": v} for k, v in self.params.items()],
                "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
            },
        }


class TrackingStore:
    """Experiments and runs in memory, answering the MLflow REST calls a job and the library make."""

    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts
        self.experiments: dict[str, str] = {"0": "Default"}  # id -> name
        self.runs: dict[str, _Run] = {}
        self.calls: list[str] = []  # the API paths asked, in order
        self._lock = threading.RLock()

    # ---- what the fake does itself (Azure creates a job's run before the job starts) ----
    def experiment_id(self, name: str) -> str:
        with self._lock:
            for key, found in self.experiments.items():
                if found == name:
                    return key
            key = str(len(self.experiments))
            self.experiments[key] = name
            return key

    def create_run(self, run_id: str, experiment: str, *, name: str = "") -> _Run:
        """The run of job ``run_id`` (Azure ML's run id is the job name), Running."""
        experiment_id = self.experiment_id(experiment)
        folder = self.artifacts / run_id
        folder.mkdir(parents=True, exist_ok=True)
        run = _Run(
            {
                "run_id": run_id,
                "run_uuid": run_id,
                "run_name": name or run_id,
                "experiment_id": experiment_id,
                "user_id": "student@example.edu",
                "status": "RUNNING",
                "start_time": int(time.time() * 1000),
                "artifact_uri": folder.as_uri(),
                "lifecycle_stage": "active",
            }
        )
        with self._lock:
            self.runs[run_id] = run
        return run

    def metrics_of(self, run_id: str) -> dict[str, float]:
        run = self.runs.get(run_id)
        return {k: float(v[-1]["value"]) for k, v in run.metrics.items()} if run else {}

    # ---- the REST API ------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        """Answer one MLflow REST call (``path`` may carry Azure's ``/mlflow/v1.0/<arm id>`` prefix)."""
        if _API not in path:
            return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no route {path}"}
        call = path.split(_API, 1)[1].strip("/")
        self.calls.append(call)
        if call.startswith("logged-models"):
            return 404, None  # Azure ML's tracking server has no logged-models API
        args = {**query, **(body if isinstance(body, dict) else {})}
        with self._lock:
            handler = _ROUTES.get(call)
            if handler is None:
                return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no route {call}"}
            return handler(self, args)

    def _run(self, args: dict[str, Any]) -> _Run | None:
        return self.runs.get(str(args.get("run_id") or args.get("run_uuid") or ""))

    def _get_run(self, args: dict[str, Any]) -> Answer:
        run = self._run(args)
        if run is None:
            return _missing(f"Run with id={args.get('run_id')} not found")
        return 200, {"run": run.view()}

    def _update_run(self, args: dict[str, Any]) -> Answer:
        run = self._run(args)
        if run is None:
            return _missing(f"Run with id={args.get('run_id')} not found")
        for key in ("status", "end_time", "run_name"):
            if args.get(key) is not None:
                run.info[key] = args[key]
        return 200, {"run_info": dict(run.info)}

    def _log_batch(self, args: dict[str, Any]) -> Answer:
        run = self._run(args)
        if run is None:
            return _missing(f"Run with id={args.get('run_id')} not found")
        for metric in args.get("metrics") or []:
            entry = {
                "key": metric["key"],
                "value": float(metric["value"]),
                "timestamp": int(metric.get("timestamp") or 0),
                "step": int(metric.get("step") or 0),
            }
            run.metrics.setdefault(metric["key"], []).append(entry)
        for param in args.get("params") or []:
            run.params[param["key"]] = str(param["value"])
        for tag in args.get("tags") or []:
            run.tags[tag["key"]] = str(tag["value"])
        return 200, {}

    def _log_one(self, args: dict[str, Any]) -> Answer:
        if "value" in args and "key" in args and "timestamp" in args:
            return self._log_batch({"run_id": args.get("run_id"), "metrics": [args]})
        if "key" in args and "value" in args:
            return self._log_batch({"run_id": args.get("run_id"), "params": [args]})
        return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "key and value needed"}

    def _set_tag(self, args: dict[str, Any]) -> Answer:
        return self._log_batch({"run_id": args.get("run_id"), "tags": [args]})

    def _create_run(self, args: dict[str, Any]) -> Answer:
        name = self.experiments.get(str(args.get("experiment_id", "0")), "Default")
        run_id = f"run{len(self.runs):04d}"
        run = self.create_run(run_id, name, name=str(args.get("run_name") or ""))
        return 200, {"run": run.view()}

    def _get_experiment(self, args: dict[str, Any]) -> Answer:
        key = str(args.get("experiment_id", ""))
        if "experiment_name" in args:
            found = [k for k, v in self.experiments.items() if v == args["experiment_name"]]
            key = found[0] if found else ""
        if key not in self.experiments:
            return _missing("experiment not found")
        return 200, {"experiment": _experiment(key, self.experiments[key])}

    def _history(self, args: dict[str, Any]) -> Answer:
        run = self._run(args)
        if run is None:
            return _missing(f"Run with id={args.get('run_id')} not found")
        return 200, {"metrics": run.metrics.get(str(args.get("metric_key")), [])}


def _experiment(key: str, name: str) -> dict[str, Any]:
    return {"experiment_id": key, "name": name, "lifecycle_stage": "active"}


def _missing(message: str) -> Answer:
    return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message}


_ROUTES = {
    "runs/get": TrackingStore._get_run,
    "runs/update": TrackingStore._update_run,
    "runs/log-batch": TrackingStore._log_batch,
    "runs/log-metric": TrackingStore._log_one,
    "runs/log-parameter": TrackingStore._log_one,
    "runs/set-tag": TrackingStore._set_tag,
    "runs/create": TrackingStore._create_run,
    "experiments/get": TrackingStore._get_experiment,
    "experiments/get-by-name": TrackingStore._get_experiment,
    "metrics/get-history": TrackingStore._history,
}


class TrackingServer:
    """:class:`TrackingStore` over HTTP on 127.0.0.1 (a free port), in a background thread."""

    def __init__(self, store: TrackingStore) -> None:
        self.store = store
        handler = _handler_for(store)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-azureml-tracking", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TrackingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler_for(store: TrackingStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            size = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(size) if size else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            status, payload = store.handle(self.command, parts.path, query, body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815  (http.server names)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler
