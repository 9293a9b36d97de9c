"""Every remote call gives up within its bound: servers that accept and never answer.

The bounds come from one place, ``[timeouts]`` (``CLOUDML_TIMEOUTS__*``); these tests
set small ones and check that blob listing, download and upload, and a server that
stops mid-upload, end with a TimeoutError naming the bound and the next step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudml_edu import Dataset, TimeoutError, Workspace
from cloudml_edu.config import CloudMLConfig, StorageConfig, Timeouts, load_config
from cloudml_edu.datasets import download_version, list_versions
from cloudml_edu.testing.azurite import Azurite
from cloudml_edu.testing.faults import FaultProxy, Seen, SilentServer

#: Small bounds for the tests: 0.5 s of silence per try, 2 s in all with retries.
BOUNDS = Timeouts(connect=0.5, read=0.5, total=2.0)
#: What a bound may be overrun by: one try's read timeout plus scheduling slack.
SLACK = 1.5


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def blob_workspace(tmp_path: Path, connection_string: str, *, timeouts: Timeouts) -> Workspace:
    storage = StorageConfig(
        kind="azure_blob", container="bounded", connection_string=connection_string
    )
    return Workspace(
        CloudMLConfig(owner="alice", root=tmp_path / "ws", storage=storage, timeouts=timeouts)
    )


def test_timeouts_are_read_from_one_section_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "cloudml.toml"
    config.write_text("[timeouts]\nconnect = 3\nread = 7.5\n")
    loaded = load_config(config, environ={"CLOUDML_TIMEOUTS__TOTAL": "30"})
    assert loaded.timeouts == Timeouts(connect=3, read=7.5, total=30)
    assert load_config(None, environ={}).timeouts == Timeouts(connect=10, read=60, total=120)
    store = blob_workspace(tmp_path, "UseDevelopmentStorage=true", timeouts=loaded.timeouts).store
    assert store.timeouts == loaded.timeouts  # type: ignore[attr-defined]


def test_dataset_list_gives_up_within_the_total_bound(tmp_path: Path, silent: SilentServer) -> None:
    ws = blob_workspace(tmp_path, silent.connection_string, timeouts=BOUNDS)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not answer within 0.5 s.*CLOUDML_TIMEOUTS__READ"):
        list_versions(ws)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < BOUNDS.total + SLACK
    assert silent.connections >= 2  # retried within the budget, not once per attempt forever


def test_download_gives_up_within_the_total_bound(tmp_path: Path, silent: SilentServer) -> None:
    ws = blob_workspace(tmp_path, silent.connection_string, timeouts=BOUNDS)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"reading alice/pets/1/_manifest\.json"):
        download_version(ws, "pets", tmp_path / "out")
    assert time.monotonic() - started < BOUNDS.total + SLACK
    assert not (tmp_path / "out").exists()  # nothing written before the store answered


def test_upload_gives_up_within_the_total_bound(
    tmp_path: Path, silent: SilentServer, tiny_dir: Path
) -> None:
    ws = blob_workspace(tmp_path, silent.connection_string, timeouts=BOUNDS)
    dataset = Dataset.from_folder(tiny_dir)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="run it again"):
        dataset.upload(ws, name="pets", progress=False)
    assert time.monotonic() - started < BOUNDS.total + SLACK


@pytest.mark.azurite
def test_a_server_that_stops_mid_upload_is_noticed_within_the_bound(
    azurite: Azurite, tmp_path: Path, tiny_dir: Path
) -> None:
    """The first five image PUTs reach Azurite, then the server stops answering (SIGSTOP-like)."""
    forwarded = threading.Semaphore(5)

    def stop_after_five(seen: Seen) -> str | None:
        if seen.method == "PUT" and "/files/" in seen.path:
            return None if forwarded.acquire(blocking=False) else "hang"
        return None

    with FaultProxy(upstream_port=azurite.port) as proxy:
        proxy.fault = stop_after_five
        ws = blob_workspace(tmp_path, proxy.connection_string, timeouts=BOUNDS)
        dataset = Dataset.from_folder(tiny_dir)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"uploading alice/pets/1/files/"):
            dataset.upload(ws, name="pets", progress=False)
        elapsed = time.monotonic() - started
        assert len(proxy.puts("alice/pets/1/files/")) == 5
        assert any(s.status == "hang" for s in proxy.seen)
        # no manifest: the version stays incomplete, and a rerun against a live server resumes
        assert not any(s.path.endswith("manifest.json") and s.method == "PUT" for s in proxy.seen)
    # the uploads run concurrently: each blocked PUT ends within the total bound
    assert elapsed < BOUNDS.total + SLACK


def test_cli_dataset_list_exits_with_the_bound_in_one_line(
    tmp_path: Path, silent: SilentServer
) -> None:
    env = {
        **os.environ,
        "CLOUDML_NO_PROGRESS": "1",
        "CLOUDML_ROOT": str(tmp_path / "ws"),
        "CLOUDML_STORAGE__KIND": "azure_blob",
        "CLOUDML_STORAGE__CONNECTION_STRING": silent.connection_string,
        "CLOUDML_TIMEOUTS__READ": "0.5",
        "CLOUDML_TIMEOUTS__CONNECT": "0.5",
        "CLOUDML_TIMEOUTS__TOTAL": "1",
    }
    env.pop("CLOUDML_CONFIG", None)
    exe = Path(sys.executable).with_name("cloudml-edu")
    done = subprocess.run(
        [str(exe), "dataset", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "TimeoutError" in done.stderr and "did not answer within 0.5 s" in done.stderr
    assert "AccountKey" not in done.stderr and len(done.stderr.strip().splitlines()) <= 3
