"""The local sdk backend: the training script run as a command job in a subprocess.

This is the code-first path: a command line, an environment, inputs and a log,
exactly what an Azure ML command job is made of.  Locally the "compute" is a
subprocess of this Python; its arguments, log and exit code are kept on the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cloudml_edu.backends import track_live
from cloudml_edu.backends.local.common import LocalBackend
from cloudml_edu.backends.local.tracking import save_record, use_workspace
from cloudml_edu.errors import BackendError
from cloudml_edu.manifest import MANIFEST_NAME
from cloudml_edu.run import JobRecord, PlanStep, TrainingRun

if TYPE_CHECKING:
    from cloudml_edu.dataset import Dataset

__all__ = ["SdkBackend"]

LOG_TAIL_LINES = 15


class SdkBackend(LocalBackend):
    """Submit ``python -m cloudml_edu.training`` as a job; poll it until it ends."""

    name = "sdk"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._jobs: dict[str, subprocess.Popen[bytes]] = {}

    def command(self, data: Path | str, manifest: Path | str | None) -> list[str]:
        """The job's command line (the same one an Azure ML command job runs)."""
        o = self.options
        cmd = [
            sys.executable,
            "-m",
            "cloudml_edu.training",
            "--data",
            str(data),
            "--model",
            o.model,
            "--params",
            json.dumps(o.model_params(), sort_keys=True),
            "--test-size",
            str(o.test_size),
            "--seed",
            str(o.seed),
            "--image-size",
            str(o.image_size),
            "--color-mode",
            o.color_mode,
        ]
        if not o.gradients:
            cmd.append("--no-gradients")
        if manifest is not None:
            cmd += ["--manifest", str(manifest)]
        return cmd

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
        """A folder of image files the job can read, and the manifest describing them."""
        from cloudml_edu.dataset import FolderSource
        from cloudml_edu.storage.local import LocalStore
        from cloudml_edu.storage.sync import StoreSource

        source = dataset.source
        if isinstance(source, FolderSource):
            files = source.root
        elif (
            isinstance(source, StoreSource)
            and isinstance(source.store, LocalStore)
            and source.layout == "files"
        ):
            files = source.store.root / source.prefix / "files"
        else:  # a remote store: materialize the images for the local job
            files = workdir / "inputs" / "files"
            for record, data in dataset.iter_bytes():
                target = files / record.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        manifest = workdir / "inputs" / MANIFEST_NAME
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(dataset.manifest.model_dump_json())
        return files, manifest

    def fit(self, dataset: Dataset, *, wait: bool = True) -> TrainingRun:
        import mlflow

        o = self.options
        experiment_id = use_workspace(self.workspace, o.experiment)
        created = mlflow.MlflowClient().create_run(
            experiment_id,
            tags={
                "cloudml.owner": self.workspace.owner,
                "cloudml.backend": self.name,
                "cloudml.dataset": dataset.name,
                "cloudml.kind": "training",
            },
        )
        run_id = created.info.run_id
        workdir = self.workspace.runs_dir / run_id
        workdir.mkdir(parents=True, exist_ok=True)
        files, manifest = self._job_input(dataset, workdir)
        cmd = self.command(files, manifest)
        log_path = workdir / "job.log"
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": self.workspace.tracking_uri,
            "MLFLOW_RUN_ID": run_id,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
            "CLOUDML_NO_PROGRESS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        with log_path.open("wb") as log:
            self._jobs[run_id] = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir
            )
        run = self.new_run(run_id, dataset, job=JobRecord(command=cmd, log_path=str(log_path)))
        track_live(run, self)
        if wait:
            self._wait(run, timeout=3600)
        return run

    def _wait(self, run: TrainingRun, *, timeout: float) -> None:
        from cloudml_edu._progress import progress_enabled, status_line

        if not progress_enabled(self.progress):
            run.wait(timeout=timeout, poll=0.2)
            return
        update = status_line(f"sdk job {run.id[:8]} running", progress=self.progress)
        deadline = time.monotonic() + timeout
        try:
            while run.status == "Running" and time.monotonic() < deadline:
                self.refresh(run)
                update(f"sdk job {run.id[:8]} {run.seconds:.0f} s: {_last_line(run)}")
                time.sleep(0.2)
        finally:
            update(None)
        run.wait(timeout=max(0.0, deadline - time.monotonic()))

    def refresh(self, run: TrainingRun) -> None:
        job = self._jobs.get(run.id)
        if job is None or run.status != "Running":
            return
        code = job.poll()
        if code is None:
            return
        del self._jobs[run.id]
        assert run.job is not None
        run.job.exit_code = code
        run.job.seconds = round(run.seconds, 3)
        run.ended = datetime.now(UTC)
        if code == 0:
            self._collect(run)
        else:
            import mlflow

            run.status = "Failed"
            run.error = f"job exited with code {code}:\n{_tail(run)}"
            mlflow.MlflowClient().set_terminated(run.id, status="FAILED")
        save_record(run)

    def _collect(self, run: TrainingRun) -> None:
        import mlflow

        from cloudml_edu.metrics import ARTIFACT_NAME, Metrics

        try:
            text = mlflow.artifacts.load_text(f"runs:/{run.id}/{ARTIFACT_NAME}")
        except Exception as exc:
            run.status = "Failed"
            run.error = f"the job finished but logged no {ARTIFACT_NAME}: {exc}"
            raise BackendError(run.error) from exc
        run.metrics = Metrics.model_validate_json(text)
        run.model = f"runs:/{run.id}/model"
        run.status = "Completed"


def _tail(run: TrainingRun) -> str:
    if run.job is None or not Path(run.job.log_path).is_file():
        return ""
    lines = Path(run.job.log_path).read_text(errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _last_line(run: TrainingRun) -> str:
    tail = _tail(run).splitlines()
    return tail[-1][:80] if tail else "starting"
