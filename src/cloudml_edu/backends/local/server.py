"""The local model server process: ``mlflow models serve`` on 127.0.0.1, in its own session.

:func:`start_server` runs the MLflow model server in a new session (so it
outlives the caller), :func:`server_processes` and :func:`live_processes` find
it again by pid *and* start time, :func:`stop` and :func:`abort` end it.  The
request format is in :mod:`cloudml_edu.scoring`; the provider that uses these
is :mod:`cloudml_edu.backends.local.endpoint`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from cloudml_edu.errors import ConfigError

if TYPE_CHECKING:
    import psutil  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "HOST",
    "ProcessRef",
    "abort",
    "free_port",
    "live_processes",
    "log_tail",
    "server_processes",
    "start_server",
    "stop",
]

HOST = "127.0.0.1"


class ProcessRef(BaseModel):
    """A process identified by pid and start time, so a reused pid is never mistaken for it."""

    pid: int
    started: float


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def start_server(
    model_uri: str, *, port: int, tracking_uri: str, log_path: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """Run ``mlflow models serve`` in a new session (so it outlives us), logging to ``log_path``."""
    import shutil

    bin_dir = _bin_dir()
    mlflow = shutil.which("mlflow", path=str(bin_dir))
    if mlflow is None:
        raise ConfigError(
            f"the `mlflow` command is not installed next to {sys.executable}; "
            "run `pip install mlflow` in this environment"
        )
    env = {
        **os.environ,
        # mlflow starts `uvicorn` from PATH: use this environment's.
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        "MLFLOW_TRACKING_URI": tracking_uri,  # resolves runs:/ and models:/ URIs
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "PYTHONUNBUFFERED": "1",
    }
    command = [mlflow, "models", "serve", "-m", model_uri, "--env-manager", "local"]
    command += ["-h", HOST, "-p", str(port)]
    with log_path.open("wb") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # POSIX; on Windows a new process group does the same
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )


def log_tail(path: Path, lines: int = 15) -> str:
    """The last non-empty ``lines`` of a log file, indented, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in kept)


def server_processes(pid: int) -> list[ProcessRef]:
    """The server process and its children (uvicorn), with their start times; [] when gone."""
    import psutil  # type: ignore[import-untyped, unused-ignore]

    refs = []
    try:
        leader = psutil.Process(pid)
        found = [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    for proc in found:
        with suppress(psutil.NoSuchProcess):
            refs.append(ProcessRef(pid=proc.pid, started=proc.create_time()))
    return refs


def live_processes(refs: Sequence[ProcessRef]) -> list[psutil.Process]:
    """Those of ``refs`` still running (same pid *and* start time, not a zombie)."""
    import psutil  # type: ignore[import-untyped, unused-ignore]

    alive = []
    for ref in refs:
        try:
            proc = psutil.Process(ref.pid)
            if (
                abs(proc.create_time() - ref.started) < 1.0
                and proc.status() != psutil.STATUS_ZOMBIE
            ):
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def stop(processes: Sequence[psutil.Process], *, timeout: float = 10.0) -> None:
    """Terminate ``processes``, kill those still running after ``timeout``, reap our children.

    Children go first: uvicorn exits in ~0.1 s that way, but takes ~2 s once its parent is gone.
    """
    import psutil  # type: ignore[import-untyped, unused-ignore]

    for proc in reversed(processes):
        with suppress(psutil.Error):
            proc.terminate()
        _, alive = psutil.wait_procs([proc], timeout=timeout)
        for left in alive:
            with suppress(psutil.Error):
                left.kill()
        psutil.wait_procs(alive, timeout=timeout)


def abort(process: subprocess.Popen[bytes], *, timeout: float = 5.0) -> None:
    """Stop a server we started, reap it, and kill anything left in its session (its group)."""
    if process.poll() is None:
        stop(live_processes(server_processes(process.pid)), timeout=timeout)
    if hasattr(os, "killpg"):  # the session we started: catches an orphaned uvicorn
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout)
