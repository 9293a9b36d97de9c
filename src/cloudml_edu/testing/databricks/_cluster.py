"""The fake's job cluster: runs a submitted ``spark_python_task`` for real in the runtime's twin.

The twin (:func:`cloudml_edu.testing.twins.ensure_twin`) has the runtime's
Python and preinstalled packages (:mod:`cloudml_edu.backends.databricks.environment`),
local-mode ``pyspark``, and the ``databricks.automl`` stand-in on its path.  The
cluster's file system is emulated by paths: ``/Workspace/...`` (workspace files),
``/Volumes/...`` (Unity Catalog volumes), hive metastore tables (read from their
``LOCATION``) and ``abfss://...`` (copied from the workspace's blob store, only
when the cluster's Spark settings hold credentials for that account: without
them the read fails as it does on Databricks).
MLflow tracking and both model registries write under the fake's folder.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.backends.databricks.cluster import reads_account
from cloudml_edu.backends.databricks.environment import RUNTIMES

if TYPE_CHECKING:
    from cloudml_edu.testing.databricks import FakeDatabricks

__all__ = ["TaskOutcome", "run_task", "runtime_of"]

STANDIN = Path(__file__).parents[1] / "_automl_standin"
_ABFSS = re.compile(r"abfss://([^@/]+)@([^./]+)\.dfs\.core\.windows\.net/(.*)")


@dataclass(frozen=True)
class TaskOutcome:
    """How the task ended: its stdout (the run's logs), the error and trace when it failed."""

    ok: bool
    logs: str
    error: str | None
    trace: str | None
    seconds: float


def runtime_of(spark_version: str) -> Any:
    """The runtime a cluster image runs, or None (the fake offers the library's runtimes)."""
    for found in RUNTIMES.values():
        if found.spark_version == spark_version:
            return found
    return None


def _failed(message: str, trace: str = "", seconds: float = 0.0) -> TaskOutcome:
    return TaskOutcome(False, "", message, trace or message, seconds)


def _local(fake: FakeDatabricks, value: str, cluster: dict[str, Any], scratch: Path) -> str:
    """A parameter as the twin sees it: the cluster's mounts mapped onto the fake's folders."""
    if value.startswith("/Workspace/"):
        return str(fake.files_root) + value.removeprefix("/Workspace")
    if value.startswith("/Volumes/"):
        return str(fake.volumes_root) + value.removeprefix("/Volumes")
    table = fake.tables.get(value.lower())
    if table is not None:  # the metastore: a table is read from its location
        value = str(table["location"])
    found = _ABFSS.fullmatch(value)
    if found is None:
        return value
    container, account, prefix = found.groups()
    if not reads_account(cluster, account):
        raise PermissionError(
            f"Failure to initialize configuration for storage account {account}.dfs.core.windows.net: "
            "Invalid configuration value detected for fs.azure.account.key"
        )
    target = scratch / "abfss" / container / prefix
    for item in fake.workspace.store.list(prefix.rstrip("/") + "/"):
        path = target / item.key[len(prefix.rstrip("/")) + 1 :]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fake.workspace.store.get_bytes(item.key))
    return str(target)


def _error_of(stderr: str) -> str:
    """The exception line of a Python traceback (what ``get-output`` calls ``error``)."""
    lines = [x for x in stderr.strip().splitlines() if x.strip()]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line):
            return line
    return lines[-1] if lines else "the task failed without output"


def run_task(fake: FakeDatabricks, body: dict[str, Any]) -> TaskOutcome:
    """Run the single task of a submit ``body`` in the runtime twin and say how it ended."""
    from cloudml_edu.testing.twins import ensure_twin

    task = body["tasks"][0]
    cluster = task.get("new_cluster", {})
    found = runtime_of(cluster.get("spark_version", ""))
    if task.get("libraries"):
        return _failed(
            "cloudml-edu's fake cluster installs no libraries: the runtime already has what "
            "AutoML needs, and an installed library would change its packages"
        )
    python_task = task.get("spark_python_task")
    if found is None or python_task is None:
        return _failed("the fake cluster runs spark_python_task on the library's runtimes only")
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=fake.root))
    try:
        argv = [_local(fake, p, cluster, scratch) for p in python_task.get("parameters", [])]
    except PermissionError as exc:
        return _failed(str(exc))
    script = str(fake.files_root) + "/" + python_task["python_file"].lstrip("/")
    twin = ensure_twin(found.environment)
    env = {
        "PYTHONPATH": str(STANDIN),
        "MLFLOW_TRACKING_URI": (fake.mlflow_root / "mlruns").as_uri(),
        "CLOUDML_TWIN_REGISTRY": str(fake.registry_root),
        "CLOUDML_TWIN_LEGACY_REGISTRY": "enabled" if fake.legacy_registry else "disabled",
        "CLOUDML_TWIN_ACCESS_MODE": str(cluster.get("data_security_mode", "")),
        "PYSPARK_PYTHON": str(twin.python),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_SUBMIT_ARGS": "--master local[2] --conf spark.ui.enabled=false "
        "--conf spark.sql.shuffle.partitions=2 pyspark-shell",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    started = time.monotonic()
    done = twin.run(
        ["python", script, *argv],
        cwd=scratch,
        env=env,
        timeout=float(body.get("timeout_seconds") or 3600),
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        return TaskOutcome(
            False, done.stdout, _error_of(done.stderr), done.stderr[-20000:], seconds
        )
    return TaskOutcome(True, done.stdout, None, None, seconds)
