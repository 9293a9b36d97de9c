"""Two commands at once on a fresh workspace: the stores are created once, under a lock."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cloudml_edu import TimeoutError
from cloudml_edu._locks import file_lock

SCRIPT = """
import sys, mlflow
from cloudml_edu import Workspace
ws = Workspace.local(sys.argv[1])
mlflow.set_tracking_uri(ws.ensure_tracking_store())
mlflow.MlflowClient().search_experiments()
print("ok")
"""


@pytest.mark.slow
def test_two_processes_create_the_tracking_store_once(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-500:] for _, err in results]
    assert all(out.strip() == "ok" for out, _ in results)
    assert (root / ".mlflow-ready").is_file()


def test_file_lock_waits_at_most_its_bound(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with file_lock(lock, timeout=5):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(TimeoutError, match=r"x\.lock"), file_lock(lock, timeout=0.2):
            pass
    finally:
        release.set()
        thread.join()
    with file_lock(lock, timeout=1):  # free again
        pass
