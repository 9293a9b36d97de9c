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


def _three_at_once(script: str, root: Path) -> list[str]:
    """Run ``script`` in three processes started together; their outputs (all must succeed)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-500:] for _, err in results]
    return [out for out, _ in results]


@pytest.mark.slow
def test_two_processes_create_the_tracking_store_once(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert all(out.strip() == "ok" for out in _three_at_once(SCRIPT, root))
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


PUBLIC_API = """
import sys
from cloudml_edu import TrainingRun, Workspace
ws = Workspace.local(sys.argv[1])
assert TrainingRun.list(ws) == [] and ws.catalog.list() == []
print("ok")
"""


@pytest.mark.slow
def test_the_public_api_creates_the_stores_once_without_asking(tmp_path: Path) -> None:
    """`cloudml-edu runs` and `dataset` commands at once on a fresh workspace: no race."""
    root = tmp_path / "ws"
    assert all(out.strip() == "ok" for out in _three_at_once(PUBLIC_API, root))
    assert (root / ".mlflow-ready").is_file() and (root / "catalog.db").is_file()


def test_the_catalog_is_created_under_the_stores_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu import Workspace, workspace

    ws = Workspace.local(tmp_path / "ws")
    monkeypatch.setattr(workspace, "STORE_LOCK_TIMEOUT", 0.2)
    with file_lock(ws.root / ".stores.lock", timeout=5):
        with pytest.raises(TimeoutError, match=r"\.stores\.lock"):
            ws.catalog  # noqa: B018 - creating it waits for the lock
        with pytest.raises(TimeoutError, match=r"\.stores\.lock"):
            ws.ensure_tracking_store()
    assert ws.catalog.list() == []
