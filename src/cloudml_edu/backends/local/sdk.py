"""The local sdk backend: the training script run as a command job in a subprocess.

This is the code-first path: a command line, an environment, inputs and a log,
exactly what an Azure ML command job is made of.  Locally the "compute" is a
subprocess of this Python; its arguments, log and exit code are kept on the run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from cloudml_edu._paths import resolve_under
from cloudml_edu._polling import wait_until
from cloudml_edu.backends._command import training_arguments
from cloudml_edu.backends.local.common import LocalBackend
from cloudml_edu.errors import BackendError, TimeoutError, UnsafePathError
from cloudml_edu.manifest import MANIFEST_NAME
from cloudml_edu.records.plan import PlanStep
from cloudml_edu.records.run import TERMINAL, JobRecord, RunRecord
from cloudml_edu.run_store import experiment_id

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset

__all__ = ["SdkBackend"]

LOG_TAIL_LINES = 15
#: Seconds a canceled job gets to stop after it is asked to (SIGTERM), then again after a kill.
CANCEL_GRACE_SECONDS = 10.0


class SdkBackend(LocalBackend):
    """Start ``python -m cloudml_edu.training`` as a job process; any process can poll it by pid."""

    name = "sdk"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._jobs: dict[str, subprocess.Popen[bytes]] = {}

    def command(self, data: Path | str, manifest: Path | str | None) -> list[str]:
        """The job's command line (the same one an Azure ML command job runs)."""
        arguments = training_arguments(
            self.options, data=str(data), manifest=None if manifest is None else str(manifest)
        )
        return [sys.executable, "-m", "cloudml_edu.training", *arguments]

    def plan_steps(self, dataset: Dataset) -> list[PlanStep]:
        return [
            PlanStep(
                name="input",
                action="pass the dataset folder to the job",
                detail={"dataset": dataset.source.location},
            ),
            PlanStep(
                name="job",
                action="run the training script as a command job (local subprocess)",
                detail={
                    "command": self.command("<dataset folder>", None),
                    "environment": sys.executable,
                },
            ),
        ]

    def _job_input(self, dataset: Dataset, workdir: Path) -> tuple[Path, Path]:
        """A folder of image files the job can read, and the manifest describing them.

        Every image is read and checked against its manifest MD5 first (a changed or
        damaged one fails here, before the job starts), and every record's path is
        resolved inside the folder (:func:`~cloudml_edu._paths.resolve_under`).
        """
        local = dataset.source.local_folder()
        if local is not None:
            files = local
            for _ in dataset.iter_bytes():  # each read is checked (path and MD5)
                pass
        else:  # a remote store or packed shards: materialize the images for the local job
            files = workdir / "inputs" / "files"
            for record, data in dataset.iter_bytes():
                source = f"{dataset.manifest.describe()}, record {record.path!r}"
                target = resolve_under(files, record.path, source=source)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        manifest = workdir / "inputs" / MANIFEST_NAME
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(dataset.manifest.model_dump_json())
        return files, manifest

    def start(self, run: RunRecord, dataset: Dataset) -> None:
        """Start the job in its own process group and record its pid; return at once."""
        workdir = self.workspace.runs_dir / run.id
        workdir.mkdir(parents=True, exist_ok=True)
        with self.failing_as(run, "prepare the job's input"):
            files, manifest = self._job_input(dataset, workdir)
        cmd = self.command(files, manifest)
        log_path = workdir / "job.log"
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": self.workspace.tracking_uri,
            "MLFLOW_RUN_ID": run.id,
            "MLFLOW_EXPERIMENT_ID": experiment_id(self.workspace, self.options.experiment),
            "CLOUDML_NO_PROGRESS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
                start_new_session=True,  # POSIX: Ctrl-C at the terminal does not reach the job
                creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),  # Windows: same
            )
        self._jobs[run.id] = process
        run.job = JobRecord(
            command=cmd,
            log_path=str(log_path),
            pid=process.pid,
            process_started=_process_started(process.pid),
        )
        self.save(run)

    def describe(self, run: RunRecord, elapsed: float, /) -> str:
        return f"sdk job {run.id[:8]} {elapsed:.0f} s: {_last_line(run, self.workspace.runs_dir)}"

    def refresh(self, run: RunRecord, /) -> RunRecord:
        """Ask the job's process (this process's child, or any process by pid) whether it ended.

        Once ended: Completed if the job finished its MLflow run and logged
        ``metrics.json``, else Failed with the log's tail.  A record another
        process already ended (finished or canceled) is taken as it is.
        """
        if run.status in TERMINAL or run.job is None:
            return run
        running, exit_code = self._job_state(run)
        if running or self.adopt_stored(run):
            return run
        run.job.exit_code = exit_code
        run.job.seconds = round(run.seconds, 3)
        run.ended = datetime.now(UTC)
        if exit_code not in (None, 0):
            self._fail(
                run, f"job exited with code {exit_code}:\n{_tail(run, self.workspace.runs_dir)}"
            )
        else:
            self._collect(run)
        self.save(run)
        return run

    def cancel(self, run: RunRecord, /) -> None:
        """Stop the job's process tree (terminate, then kill after 10 s); mark the run Canceled."""
        if run.status in TERMINAL or run.job is None:
            return
        child = self._jobs.pop(run.id, None)  # this process's child: poll it to reap it
        process = _job_process(run.job)
        if process is not None:
            job = run.job

            def ended(elapsed: float) -> bool:
                return child.poll() is not None if child else _job_process(job) is None

            for kill in (False, True):
                _stop_tree(process, kill=kill)
                try:
                    wait_until(
                        ended,
                        timeout=CANCEL_GRACE_SECONDS,
                        describe=lambda elapsed: f"stopping sdk job {run.id[:8]}",
                        interval=0.05,
                        max_interval=0.5,
                        progress=False,
                    )
                    break
                except TimeoutError:
                    if kill:
                        raise
        run.job.exit_code = child.poll() if child else None
        run.status, run.ended = "Canceled", datetime.now(UTC)
        run.error = "canceled by the user"
        self._client().set_terminated(run.id, status="KILLED")
        self.save(run)

    def _job_state(self, run: RunRecord) -> tuple[bool, int | None]:
        """(still running, exit code if known): this process's child, else the pid on record."""
        child = self._jobs.get(run.id)
        if child is not None:
            code = child.poll()
            if code is not None:
                del self._jobs[run.id]
            return code is None, code
        assert run.job is not None
        return _job_process(run.job) is not None, None

    def _client(self) -> Any:
        import mlflow

        return mlflow.MlflowClient(tracking_uri=self.workspace.tracking_uri)

    def _fail(self, run: RunRecord, error: str) -> None:
        run.status, run.error = "Failed", error
        self._client().set_terminated(run.id, status="FAILED")

    def _collect(self, run: RunRecord) -> None:
        """Read the metrics the job logged; Failed when it did not finish its MLflow run."""
        import mlflow

        from cloudml_edu.records.metrics import ARTIFACT_NAME, Metrics

        client = self._client()
        if client.get_run(run.id).info.status != "FINISHED":
            self._fail(
                run,
                f"the job ended before finishing its MLflow run:\n{_tail(run, self.workspace.runs_dir)}",
            )
            return
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run.id,
                artifact_path=ARTIFACT_NAME,
                dst_path=str(resolve_under(self.workspace.runs_dir, run.id, source="run record")),
                tracking_uri=self.workspace.tracking_uri,
            )
        except Exception as exc:
            self._fail(
                run,
                f"the job finished but logged no {ARTIFACT_NAME} ({exc}):\n{_tail(run, self.workspace.runs_dir)}",
            )
            return
        try:
            run.metrics = Metrics.model_validate_json(Path(path).read_text())
        except (BackendError, ValueError) as exc:  # no usable score: Failed, never Running
            self._fail(run, f"the job logged metrics that cannot be read: {exc}")
            return
        run.model = f"runs:/{run.id}/model"
        run.status = "Completed"


def _process_started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if it is gone already."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _job_process(job: JobRecord) -> psutil.Process | None:
    """The job's process while it runs; None once it ended (or its pid now names another process)."""
    if job.pid is None:
        return None
    try:
        process = psutil.Process(job.pid)
        if job.process_started is not None and abs(process.create_time() - job.process_started) > 1:
            return None  # the pid was reused by a later process
        if process.status() == psutil.STATUS_ZOMBIE:
            return None  # ended; its parent has not collected the exit code yet
    except psutil.Error:
        return None
    return process


def _stop_tree(process: psutil.Process, *, kill: bool) -> None:
    """Terminate (or kill) the job and every process it started, children first (any OS)."""
    with contextlib.suppress(psutil.Error):  # it ended meanwhile
        members = [process, *process.children(recursive=True)]
        for member in reversed(members):
            with contextlib.suppress(psutil.Error):
                if kill:
                    member.kill()
                else:
                    member.terminate()


def _tail(run: RunRecord, runs_dir: Path) -> str:
    """The last lines of the job's log, read from the run's own folder in this workspace
    (never from the path the record names: a copied workspace reads its own copy, and a
    record naming a file elsewhere reads nothing else)."""
    if run.job is None:
        return ""
    try:
        log = resolve_under(runs_dir, f"{run.id}/job.log", source=f"run record {run.id!r}")
    except UnsafePathError:
        return ""
    if not log.is_file():
        return ""
    lines = log.read_text(errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _last_line(run: RunRecord, runs_dir: Path) -> str:
    tail = _tail(run, runs_dir).splitlines()
    return tail[-1][:80] if tail else "starting"
