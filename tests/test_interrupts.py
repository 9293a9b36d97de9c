"""Ctrl-C: a local run is stopped and recorded as Canceled (and listed); the CLI says so, exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from cloudml_edu import Dataset, Trainer, TrainingRun, Workspace
from cloudml_edu._polling import wait_until


def test_ctrl_c_during_in_process_training_records_the_run_canceled(
    workspace: Workspace, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu.training import fit

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fit, "train_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Trainer("designer", workspace=workspace).fit(Dataset.from_folder(tiny_dir))
    (run,) = TrainingRun.list(workspace)
    assert run.status == "Canceled" and run.ended is not None
    assert "interrupted" in (run.error or "")
    import mlflow

    assert mlflow.MlflowClient(workspace.tracking_uri).get_run(run.id).info.status == "KILLED"


def test_ctrl_c_while_waiting_on_an_sdk_job_stops_it(
    workspace: Workspace, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not at a terminal: nobody is asked, the local job is stopped and the run Canceled."""

    def interrupted() -> bool:
        raise KeyboardInterrupt

    poller = Trainer("sdk", workspace=workspace).begin_fit(Dataset.from_folder(tiny_dir))
    monkeypatch.setattr(poller, "done", interrupted)
    job = poller.value.job
    assert job is not None and job.pid is not None
    with pytest.raises(KeyboardInterrupt):
        poller.result(timeout=60)
    assert not psutil.pid_exists(job.pid)  # stopped and reaped
    assert [r.status for r in TrainingRun.list(workspace)] == ["Canceled"]


#: A ``sitecustomize`` that holds the training job (only it) until ``$CLOUDML_TEST_GATE`` exists.
HOLD_THE_JOB = """
import os, sys, time
if "cloudml_edu.training" in getattr(sys, "orig_argv", []):
    while not os.path.exists(os.environ["CLOUDML_TEST_GATE"]):
        time.sleep(0.05)
"""


@pytest.mark.slow
def test_cli_ctrl_c_prints_interrupted_exits_130_and_the_run_is_listed(
    tmp_path: Path, tiny_dir: Path
) -> None:
    # the job (``python -m cloudml_edu.training``) waits for a gate the test never opens, so
    # Ctrl-C always lands while it runs, however fast this machine trains the tiny dataset
    hold = tmp_path / "hold"
    hold.mkdir()
    (hold / "sitecustomize.py").write_text(HOLD_THE_JOB)
    path = os.pathsep.join(p for p in (str(hold), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **os.environ,
        "CLOUDML_NO_PROGRESS": "1",
        "CLOUDML_ROOT": str(tmp_path / "ws"),
        "PYTHONPATH": path,
        "CLOUDML_TEST_GATE": str(tmp_path / "gate"),
    }
    env.pop("CLOUDML_CONFIG", None)
    exe = str(Path(sys.executable).with_name("cloudml-edu"))
    train = subprocess.Popen(
        [exe, "train", str(tiny_dir), "--backend", "sdk"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as at a terminal: a test run started in the background (``cmd &``) ignores SIGINT,
        # and a child would inherit that, so Ctrl-C would never reach the command
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    ws = Workspace.local(tmp_path / "ws")

    def job_started(elapsed: float) -> bool:
        return train.poll() is None and any(r.job for r in TrainingRun.list(ws))

    wait_until(job_started, timeout=60, describe=lambda e: "waiting for the job", progress=False)
    train.send_signal(signal.SIGINT)
    _, err = train.communicate(timeout=60)
    assert train.returncode == 130
    assert err.strip().splitlines()[-1] == "error: interrupted"

    listed = subprocess.run(
        [exe, "runs", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "Canceled" and run["backend"] == "sdk"
    assert not psutil.pid_exists(run["job"]["pid"])
