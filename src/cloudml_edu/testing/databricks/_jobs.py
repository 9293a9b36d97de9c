"""Jobs and clusters of the fake: one-time runs whose task runs for real (:mod:`._cluster`).

``runs/get`` walks the scripted life cycle states, one per call; when a run
reaches ``TERMINATED`` with a scripted ``SUCCESS`` its task is run in the twin,
and how the task ends decides the result (a failing task: ``FAILED`` with its
exception in ``get-output``).  Other scripted results (``FAILED``, ``CANCELED``,
``TIMEDOUT``) stand for what the platform does to a run (a lost cluster, a
cancel, the run's time bound) and run nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudml_edu.testing._http import Reply, SentRequest, json_reply
from cloudml_edu.testing.databricks._cluster import TaskOutcome, run_task, runtime_of
from cloudml_edu.testing.databricks._routes import Routes, error

if TYPE_CHECKING:
    from cloudml_edu.testing.databricks import FakeDatabricks

__all__ = ["JobsService"]

_START_MS = 1_800_000_000_000


@dataclass
class _Run:
    body: dict[str, Any]
    gets: int = 0
    canceled: bool = False
    outcome: TaskOutcome | None = None


class JobsService(Routes):
    """``/api/2.2/jobs/runs/*`` and ``/api/2.1/clusters/spark-versions``."""

    def __init__(self, fake: FakeDatabricks) -> None:
        super().__init__(fake)
        self.runs: dict[int, _Run] = {}
        self.route("POST", r"/api/2\.2/jobs/runs/submit", self._submit)
        self.route("GET", r"/api/2\.2/jobs/runs/get", self._get)
        self.route("GET", r"/api/2\.2/jobs/runs/get-output", self._output)
        self.route("POST", r"/api/2\.2/jobs/runs/cancel", self._cancel)
        self.route("GET", r"/api/2\.1/clusters/spark-versions", self._versions)

    def _versions(self, request: SentRequest) -> Reply:
        keys = [r.spark_version for r in self.fake.offered_runtimes]
        return json_reply(200, {"versions": [{"key": k, "name": k} for k in keys]})

    def _submit(self, request: SentRequest) -> Reply:
        body = request.body or {}
        for task in body.get("tasks", []):
            version = task.get("new_cluster", {}).get("spark_version", "")
            if runtime_of(version) is None or all(
                r.spark_version != version for r in self.fake.offered_runtimes
            ):
                return error(400, "INVALID_PARAMETER_VALUE", f"Invalid spark version {version}.")
        run_id = 1000 + 10 * (len(self.runs) + 1)
        self.runs[run_id] = _Run(body)
        self.fake.runs.append(body)
        return json_reply(200, {"run_id": run_id})

    def _state(self, run: _Run) -> tuple[str, str | None, str]:
        """(life cycle state, result state or None, state message) at this ``get``."""
        fake = self.fake
        if run.canceled:
            return "TERMINATED", "CANCELED", "Run cancelled."
        life = fake.run_states[min(run.gets, len(fake.run_states)) - 1]
        if life not in {"TERMINATED", "INTERNAL_ERROR", "SKIPPED"}:
            return life, None, ""
        if fake.run_result != "SUCCESS":
            return life, fake.run_result, f"Task {run.body['tasks'][0]['task_key']} failed."
        if run.outcome is None:
            run.outcome = run_task(fake, run.body)
        if run.outcome.ok:
            return life, "SUCCESS", ""
        return (
            life,
            "FAILED",
            f"Task {run.body['tasks'][0]['task_key']} failed with message: workload failed.",
        )

    def _get(self, request: SentRequest) -> Reply:
        run_id = int(request.query.get("run_id", "0"))
        run = self.runs.get(run_id)
        if run is None:
            return error(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")
        run.gets += 1
        life, result, message = self._state(run)
        state: dict[str, Any] = {"life_cycle_state": life, "state_message": message}
        found: dict[str, Any] = {
            "run_id": run_id,
            "run_name": run.body.get("run_name", ""),
            "run_page_url": f"{self.fake.host}/?o=1234567890123456#job/0/run/{run_id}",
            "start_time": _START_MS,
            "state": state,
            "tasks": [
                {
                    "run_id": run_id + 1,
                    "task_key": task["task_key"],
                    "state": state,
                    "new_cluster": task.get("new_cluster", {}),
                }
                for task in run.body.get("tasks", [])
            ],
        }
        if result is not None:
            state["result_state"] = result
            seconds = run.outcome.seconds if run.outcome else 0.0
            found["end_time"] = _START_MS + int(seconds * 1000)
        return json_reply(200, found)

    def _output(self, request: SentRequest) -> Reply:
        task_run = int(request.query.get("run_id", "0"))
        run = self.runs.get(task_run - 1)
        if run is None:
            return error(
                400,
                "INVALID_PARAMETER_VALUE",
                "Retrieving the output of runs with multiple tasks is not supported. "
                "Please retrieve the output of each individual task run instead.",
            )
        output: dict[str, Any] = {"metadata": {"run_id": task_run}, "logs": ""}
        if run.outcome is not None:
            output["logs"] = run.outcome.logs
            if not run.outcome.ok:
                output.update(error=run.outcome.error, error_trace=run.outcome.trace)
        elif self.fake.run_result != "SUCCESS" or run.canceled:
            output["error"] = self.fake.task_error or "the run did not succeed"
        return json_reply(200, output)

    def _cancel(self, request: SentRequest) -> Reply:
        run_id = int((request.body or {}).get("run_id", 0))
        if run_id in self.runs:
            self.runs[run_id].canceled = True
        self.fake.canceled.append(run_id)
        return json_reply(200, {})
