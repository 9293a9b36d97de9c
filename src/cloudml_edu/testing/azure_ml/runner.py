"""What Azure ML runs for a job, run here: each command in a twin of the job's environment.

For a command job, and for each step of a pipeline job in dependency order, the
runner lays out what the compute would see: the code snapshot rebuilt from the
blobs the SDK uploaded, each data input as a folder (the data asset's blobs, as
a mount), each output as an empty folder; it substitutes the command
(:func:`~.commands.substitute`), and runs it with ``bash -c`` in a twin built
from the environment the job names (:mod:`cloudml_edu.testing.twins`), with the
variables Azure ML sets (``MLFLOW_TRACKING_URI``, ``MLFLOW_RUN_ID`` = the job's
name...).  The status, times, logs and error (the process's own traceback) are
what happened.
"""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.testing.azure_ml.commands import substitute
from cloudml_edu.testing.azure_ml.outputs import publish

if TYPE_CHECKING:
    from cloudml_edu.environments import EnvironmentSpec
    from cloudml_edu.testing.azure_ml import FakeAzureML

__all__ = ["JobError", "StepRun", "run_job"]

#: The longest a job may run in the fake.
JOB_TIMEOUT = 900.0
_PARENT_INPUT = re.compile(r"\$\{\{parent\.inputs\.([A-Za-z0-9_]+)\}\}")
_PARENT_OUTPUT = re.compile(r"\$\{\{parent\.jobs\.([A-Za-z0-9_]+)\.outputs\.([A-Za-z0-9_]+)\}\}")


class JobError(Exception):
    """Something Azure ML would refuse before running the command (a missing asset, say)."""


@dataclass
class StepRun:
    """One command as it ran: a command job, or one step of a pipeline."""

    name: str
    node: str = ""
    status: str = "NotStarted"
    error: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None


def run_job(fake: FakeAzureML, name: str, body: dict[str, Any], steps: list[StepRun]) -> None:
    """Run job ``name`` (its REST body as PUT) to the end, filling ``steps`` as it goes."""
    props = body.get("properties", {})
    folder = fake.scratch / "jobs" / name
    fake.check_data_access(props)
    if props.get("jobType") == "Pipeline":
        _run_pipeline(fake, name, props, folder, steps)
    else:
        step = StepRun(name)
        steps.append(step)
        inputs: dict[str, str | None] = {
            k: _input(fake, v, folder) for k, v in (props.get("inputs") or {}).items()
        }
        outputs = {k: folder / "outputs" / k for k in (props.get("outputs") or {})}
        _run_command(
            fake,
            step,
            command=str(props.get("command", "")),
            code_id=str(props.get("codeId", "")),
            environment=str(props.get("environmentId", "")),
            experiment=str(props.get("experimentName", "Default")),
            inputs=inputs,
            outputs=outputs,
            env=dict(props.get("environmentVariables") or {}),
            folder=folder,
        )


def _run_pipeline(
    fake: FakeAzureML, name: str, props: dict[str, Any], folder: Path, steps: list[StepRun]
) -> None:
    nodes: dict[str, Any] = props.get("jobs") or {}
    parent_inputs: dict[str, str | None] = {
        k: _input(fake, v, folder) for k, v in (props.get("inputs") or {}).items()
    }
    by_node = {node: StepRun(f"{name}_{node}", node=node) for node in nodes}
    steps.extend(by_node.values())
    for node in _in_order(nodes):
        step = by_node[node]
        if any(s.status in ("Failed", "Canceled") for s in steps):
            step.status = "Canceled"  # Azure ML stops a pipeline at its first failed step
            continue
        spec = fake.component_spec(str(nodes[node].get("componentId", "")))
        inputs: dict[str, str | None] = {}
        for key, declared in (spec.get("inputs") or {}).items():
            given = (nodes[node].get("inputs") or {}).get(key)
            inputs[key] = _node_input(given, declared, parent_inputs, by_node)
        outputs = {k: folder / node / "outputs" / k for k in (spec.get("outputs") or {})}
        _run_command(
            fake,
            step,
            command=str(spec.get("command", "")),
            code_id=str(spec.get("code", "")).removeprefix("azureml:"),
            environment=str(spec.get("environment", "")),
            experiment=str(props.get("experimentName", "Default")),
            inputs=inputs,
            outputs=outputs,
            env={},
            folder=folder / node,
        )


def _in_order(nodes: dict[str, Any]) -> list[str]:
    """Nodes in dependency order (a node after every node whose outputs it reads)."""
    needs = {
        node: {m.group(1) for m in _PARENT_OUTPUT.finditer(str(spec.get("inputs") or {}))}
        for node, spec in nodes.items()
    }
    ordered: list[str] = []
    while len(ordered) < len(nodes):
        ready = [n for n in nodes if n not in ordered and needs[n] <= set(ordered)]
        if not ready:
            raise JobError(f"the pipeline's steps depend on each other in a cycle: {needs}")
        ordered.extend(ready[:1])
    return ordered


def _node_input(
    given: Any,
    declared: dict[str, Any],
    parent_inputs: dict[str, str | None],
    by_node: dict[str, StepRun],
) -> str | None:
    if given is None:
        default = declared.get("default")
        return None if default is None else str(default)
    value = str(given.get("value", given.get("uri", "")))
    parent = _PARENT_INPUT.fullmatch(value)
    if parent:
        return parent_inputs.get(parent.group(1))
    upstream = _PARENT_OUTPUT.fullmatch(value)
    if upstream:
        return str(by_node[upstream.group(1)].outputs[upstream.group(2)])
    return value


def _input(fake: FakeAzureML, spec: dict[str, Any], folder: Path) -> str:
    """A job input as the command sees it: a data asset mounted as a folder, or a literal."""
    kind = str(spec.get("jobInputType", "literal"))
    if kind == "literal":
        return str(spec.get("value", ""))
    return str(fake.mount(str(spec.get("uri", "")), folder / "inputs"))


def _run_command(
    fake: FakeAzureML,
    step: StepRun,
    *,
    command: str,
    code_id: str,
    environment: str,
    experiment: str,
    inputs: dict[str, str | None],
    outputs: dict[str, Path],
    env: dict[str, str],
    folder: Path,
) -> None:
    from cloudml_edu.testing.twins import ensure_twin

    step.started = datetime.now(UTC)
    step.status = "Running"
    logs = folder / "user_logs" / "std_log.txt"
    try:
        spec: EnvironmentSpec = fake.environment_spec(environment)
        code = fake.code_snapshot(code_id, folder / "code")
        for path in outputs.values():
            path.mkdir(parents=True, exist_ok=True)
        step.outputs = dict(outputs)
        text = substitute(command, inputs, {k: str(v) for k, v in outputs.items()})
        twin = ensure_twin(spec, quiet=True)
    except (JobError, KeyError) as exc:
        _end(step, "Failed", f"UserError: {exc}")
        return
    fake.tracking.create_run(step.name, experiment)
    variables = {**env, **fake.job_variables(step.name, experiment)}
    logs.parent.mkdir(parents=True, exist_ok=True)
    with logs.open("w") as log:
        step.process = subprocess.Popen(
            ["bash", "-c", text],
            cwd=code,
            env=twin.environ(variables),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            code_ = step.process.wait(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            step.process.kill()
            code_ = -9
    if step.status == "CancelRequested":
        _end(step, "Canceled", "")
        fake.tracking.handle("POST", "/api/2.0/mlflow/runs/update", {}, _ended(step, "KILLED"))
        return
    if code_ != 0:
        tail = _traceback(logs.read_text(errors="replace"))
        _end(
            step,
            "Failed",
            f"Execution failed. User process 'bash' exited with status code {code_}. Please "
            f"check log file 'user_logs/std_log.txt' for error details. Error: {tail}",
        )
    else:
        publish(fake, step)  # uploaded to the datastore before the step reports Completed
        _end(step, "Completed", "")
    state = "FINISHED" if step.status == "Completed" else "FAILED"
    fake.tracking.handle("POST", "/api/2.0/mlflow/runs/update", {}, _ended(step, state))


def _ended(step: StepRun, state: str) -> dict[str, Any]:
    ended = step.ended or datetime.now(UTC)
    return {"run_id": step.name, "status": state, "end_time": int(ended.timestamp() * 1000)}


def _end(step: StepRun, status: str, error: str) -> None:
    step.status, step.error, step.ended = status, error, datetime.now(UTC)


def _traceback(log: str, limit: int = 3000) -> str:
    """The process's last traceback (from ``Traceback`` on), else the end of its output."""
    at = log.rfind("Traceback (most recent call last)")
    text = log[at:] if at >= 0 else log
    return text.strip()[-limit:]


def cancel(step: StepRun) -> None:
    """Stop a running step (``jobs.begin_cancel``)."""
    if step.status == "Running":
        step.status = "CancelRequested"
        if step.process is not None and step.process.poll() is None:
            step.process.kill()


def start(
    fake: FakeAzureML, name: str, body: dict[str, Any], steps: list[StepRun]
) -> threading.Thread:
    """Run the job in a background thread (a job runs while the client polls it)."""

    def target() -> None:
        try:
            run_job(fake, name, body, steps)
        except JobError as exc:
            failed = StepRun(name)
            _end(failed, "Failed", f"UserError: {exc}")
            steps.append(failed)

    thread = threading.Thread(target=target, name=f"fake-azureml-job-{name}", daemon=True)
    thread.start()
    return thread
