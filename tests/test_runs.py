"""Runs found again by id: across processes, by short id, with their options; pollers; no import cycles.

The sdk job in these tests waits on a gate file before it trains, so a test
knows the job is still running until it opens the gate (no timing sleeps).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from cloudml_edu import (
    BackendError,
    ConfigError,
    Dataset,
    NotFoundError,
    Trainer,
    TrainingRun,
    Workspace,
)
from cloudml_edu.metrics import lower_is_better
from cloudml_edu.options import TrainOptions
from cloudml_edu.report.comparison import model_family, primary_metric_of
from cloudml_edu.run import TrialRecord

SRC = Path(__file__).resolve().parents[1] / "src"
FAST = {"model": "knn", "params": {"n_neighbors": 1}, "progress": False}

# A shell loop in front of the sdk job's command: the job waits until the gate file exists.
WAIT_FOR_GATE = 'while [ ! -e "$0" ]; do sleep 0.05; done; exec "$@"'

START = """
import sys
from cloudml_edu import Dataset, Trainer, Workspace
from cloudml_edu.backends.local.sdk import SdkBackend

command = SdkBackend.command
SdkBackend.command = lambda self, *args: ["sh", "-c", {wait!r}, sys.argv[3], *command(self, *args)]

ws = Workspace.local(sys.argv[1])
poller = Trainer("sdk", workspace=ws, **{fast}).begin_fit(Dataset.from_folder(sys.argv[2]))
print(poller.value.id[:8])
"""

WAIT = """
import sys
from cloudml_edu import TrainingRun, Workspace

run = TrainingRun.get(Workspace.local(sys.argv[1]), sys.argv[2]).wait(timeout=180)
print(run.status, run.metrics.accuracy)
"""


def _python(code: str, *args: object) -> list[str]:
    return [sys.executable, "-c", code, *map(str, args)]


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Gate the sdk jobs this process starts; they train once the returned file exists."""
    from cloudml_edu.backends.local.sdk import SdkBackend

    path = tmp_path / "gate"
    command = SdkBackend.command

    def gated(self: SdkBackend, data: Path | str, manifest: Path | str | None) -> list[str]:
        return ["sh", "-c", WAIT_FOR_GATE, str(path), *command(self, data, manifest)]

    monkeypatch.setattr(SdkBackend, "command", gated)
    yield path
    path.touch()  # let a job a failing test left behind finish


@pytest.fixture
def started_elsewhere(
    workspace: Workspace, tiny_dir: Path, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """An sdk run started by ``begin_fit`` in another process, which has exited: (short id, gate)."""
    gate = tmp_path / "gate"
    code = START.format(wait=WAIT_FOR_GATE, fast=repr(FAST))
    done = subprocess.run(
        _python(code, workspace.root, tiny_dir, gate),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    short = done.stdout.strip().splitlines()[-1]
    yield short, gate
    gate.touch()


def test_a_run_started_in_another_process_is_found_by_short_id_and_waited_on(
    workspace: Workspace, started_elsewhere: tuple[str, Path]
) -> None:
    short, gate = started_elsewhere
    assert len(short) == 8
    run = TrainingRun.get(workspace, short)
    assert run.id.startswith(short) and run.status == "Running" and run.job is not None
    assert run.job.pid is not None and psutil.pid_exists(run.job.pid)
    assert run.refresh().status == "Running"  # asked the job's process, which is waiting
    gate.touch()
    assert run.wait(timeout=180) is run
    assert run.status == "Completed" and run.metrics is not None and run.model
    stored = TrainingRun.get(workspace, run.id)
    assert stored.status == "Completed" and stored.metrics == run.metrics


def test_a_run_started_here_is_waited_on_from_another_process(
    workspace: Workspace, tiny_dir: Path, gate: Path
) -> None:
    poller = Trainer("sdk", workspace=workspace, **FAST).begin_fit(Dataset.from_folder(tiny_dir))
    run = poller.value
    waiter = subprocess.Popen(
        _python(WAIT, workspace.root, run.id[:8]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    gate.touch()
    out, err = waiter.communicate(timeout=240)
    assert waiter.returncode == 0, err
    status, accuracy = out.split()
    assert status == "Completed"
    assert poller.result(timeout=120) is run and run.status == "Completed"
    assert run.metrics is not None and float(accuracy) == run.metrics.accuracy


def test_a_run_started_elsewhere_is_canceled_from_here(
    workspace: Workspace, started_elsewhere: tuple[str, Path]
) -> None:
    import mlflow

    short, _ = started_elsewhere
    run = TrainingRun.get(workspace, short)
    assert run.job is not None and run.job.pid is not None
    job = psutil.Process(run.job.pid)
    run.cancel()
    assert run.status == "Canceled" and not _alive(job)
    assert TrainingRun.get(workspace, short).status == "Canceled"
    assert mlflow.MlflowClient(workspace.tracking_uri).get_run(run.id).info.status == "KILLED"
    with pytest.raises(BackendError, match=f"run {short} \\(sdk\\) Canceled"):
        run.wait(timeout=5)


def test_the_poller_reports_status_and_cancels_the_job_group(
    workspace: Workspace, tiny_dir: Path, gate: Path
) -> None:
    poller = Trainer("sdk", workspace=workspace, **FAST).begin_fit(Dataset.from_folder(tiny_dir))
    run = poller.value
    assert poller.status() == "Running" and not poller.done()
    assert run.job is not None and run.job.pid is not None
    group = [p for p in psutil.process_iter() if _group_of(p) == run.job.pid]
    assert group  # the shell and its sleep, in the job's own process group
    poller.cancel()
    assert poller.status() == "Canceled" and poller.done()
    assert not any(_alive(p) for p in group)
    assert run.job.exit_code is not None and run.job.exit_code < 0  # killed by a signal
    with pytest.raises(BackendError, match="Canceled"):
        poller.result(timeout=5)
    assert TrainingRun.get(workspace, run.id).status == "Canceled"


def test_designer_and_automl_pollers_are_done_when_returned(
    workspace: Workspace, tiny_dir: Path
) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    for name, options in (("designer", {}), ("automl", {"max_trials": 2, "families": ["knn"]})):
        poller = Trainer(name, workspace=workspace, progress=False, **options).begin_fit(dataset)
        assert poller.status() == "Completed" and poller.done()
        assert poller.result(timeout=0) is poller.value
        assert poller.value.refresh().status == "Completed"


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _group_of(process: psutil.Process) -> int | None:
    import os

    try:
        return os.getpgid(process.pid)
    except (ProcessLookupError, PermissionError):
        return None


def _record(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, run_id: str, **fields: Any
) -> TrainingRun:
    """A run record saved under a chosen id (MLflow draws run ids from ``uuid.uuid4``)."""
    from cloudml_edu import run_store

    with monkeypatch.context() as patched:
        patched.setattr(uuid, "uuid4", lambda: uuid.UUID(run_id))
        made = run_store.create_record_run(
            workspace, experiment="cloudml-edu", backend="sdk", target="local", dataset="d"
        )
    assert made == run_id
    run = TrainingRun(id=run_id, backend="sdk", status="Completed", **fields).bind(workspace)
    run.save()
    return run


def test_short_ids_must_name_one_run(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _record(workspace, monkeypatch, "abcdef12" + "0" * 24)
    _record(workspace, monkeypatch, "abcdef12" + "1" * 24)
    assert TrainingRun.get(workspace, "abcdef120").id == first.id
    assert TrainingRun.get(workspace, first.id.upper()).id == first.id
    with pytest.raises(NotFoundError, match=r"matches 2 runs.*pass more characters"):
        TrainingRun.get(workspace, "abcdef12")
    with pytest.raises(NotFoundError, match=r"no training run 12345678.*cloudml-edu runs"):
        TrainingRun.get(workspace, "12345678")
    with pytest.raises(NotFoundError, match=r"prefix abcd matches 2 runs") as ambiguous:
        TrainingRun.get(workspace, "abcd")  # ambiguous short prefixes list what they match
    assert "abcdef120000" in str(ambiguous.value) and "abcdef121111" in str(ambiguous.value)
    other = _record(workspace, monkeypatch, "fedc" + "2" * 28)
    assert TrainingRun.get(workspace, "fedc").id == other.id  # 4 characters, as git allows
    with pytest.raises(ConfigError, match="unique prefix of at least 4"):
        TrainingRun.get(workspace, "abc")
    assert {r.id for r in TrainingRun.list(workspace)} == {
        first.id,
        "abcdef12" + "1" * 24,
        other.id,
    }
    assert TrainingRun.list(workspace, owner="someone-else") == []


def test_a_run_without_its_workspace_says_how_to_get_one() -> None:
    run = TrainingRun(id="f" * 32, backend="sdk", status="Running")
    with pytest.raises(ConfigError, match=r"TrainingRun.get\(ws, run_id\)"):
        run.wait(timeout=1)
    with pytest.raises(ConfigError, match="run store"):
        run.save()


def test_options_are_stored_with_secrets_redacted_and_read_by_the_comparison(
    workspace: Workspace, tiny_dir: Path
) -> None:
    secret = "AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net"
    run = Trainer(
        "designer",
        workspace=workspace,
        progress=False,
        model="knn",
        params={"n_neighbors": 1},
        primary_metric="f1_macro",
        image_size=8,
        backend_options={"api_key": "plain-text-key", "connection": secret, "retries": 3},
    ).fit(Dataset.from_folder(tiny_dir))
    stored = TrainingRun.get(workspace, run.id)
    assert stored.options is not None and stored.options == run.options
    assert (stored.options.model, stored.options.primary_metric) == ("knn", "f1_macro")
    assert stored.options.image_size == 8 and stored.options.params == {"n_neighbors": 1}
    assert stored.options.backend_options == {
        "api_key": "***",
        "connection": "AccountKey=***;EndpointSuffix=core.windows.net",
        "retries": 3,
    }
    record = stored.model_dump_json()
    assert "plain-text-key" not in record and "c2VjcmV0LWtleQ" not in record
    assert model_family(stored) == "knn" and primary_metric_of(stored) == "f1_macro"


def test_the_comparison_reads_family_and_direction_from_options_not_text() -> None:
    trials = [
        TrialRecord(number=1, family="svc", params={}, score=0.5, seconds=1, run_id="a"),
        TrialRecord(number=2, family="knn", params={}, score=0.2, seconds=1, run_id="b"),
    ]
    started = datetime(2026, 11, 1, tzinfo=UTC)
    by_loss = TrainingRun(
        id="e" * 32,
        backend="automl",
        started=started,
        trials=trials,
        options=TrainOptions(primary_metric="log_loss"),
    )
    by_accuracy = by_loss.model_copy(update={"options": TrainOptions()})
    assert model_family(by_loss) == "knn" and model_family(by_accuracy) == "svc"
    job = TrainingRun(id="d" * 32, backend="sdk", options=TrainOptions(model="mlp"))
    assert model_family(job) == "mlp" and primary_metric_of(job) == "accuracy"
    assert model_family(TrainingRun(id="c" * 32, backend="sdk")) == "unknown"


def test_lower_is_better_for_losses_time_and_money_only() -> None:
    assert all(map(lower_is_better, ("log_loss", "train_seconds", "node_hours", "cost_usd")))
    assert not any(map(lower_is_better, ("accuracy", "f1_macro", "f1_weighted", "support")))


def _imports(source: Path) -> dict[str, set[str]]:
    """Module -> the cloudml_edu modules it imports (anywhere but under ``if TYPE_CHECKING``)."""
    package = source / "cloudml_edu"
    modules = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(source).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        typing_only = {
            id(node)
            for branch in ast.walk(tree)
            if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
            for node in ast.walk(branch)
        }
        package_name = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package_name.split(".")[: len(package_name.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[module] = {
            found
            for target in targets
            if target.startswith("cloudml_edu")
            and (found := resolve(target)) not in (None, module, "cloudml_edu")
            and not module.startswith(f"{found}.")  # a package's own parents run first anyway
        }
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_package() -> None:
    graph = _imports(SRC)
    assert {"cloudml_edu.run", "cloudml_edu.run_store", "cloudml_edu.backends"} <= set(graph)
    assert "cloudml_edu.run_store" in graph["cloudml_edu.run"]  # function-level imports count
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_run_record_is_json_with_the_new_fields(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _record(workspace, monkeypatch, "0123abcd" * 4, options=TrainOptions(model="knn"))
    loaded = json.loads(TrainingRun.get(workspace, "0123abcd").model_dump_json())
    assert loaded["options"]["model"] == "knn"
    assert loaded["remote"] is None and loaded["job"] is None
    assert loaded["id"] == run.id
