"""The course's first lab in one call: sample -> upload -> train three ways -> compare -> deploy -> predict.

``cloudml-edu demo`` runs this.  Everything stays on this machine: the workspace
is ``.cloudml/`` and the sample images land in ``data/digits/``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from cloudml_edu.datasets import Dataset
from cloudml_edu.run import TrainingRun

if TYPE_CHECKING:
    from rich.console import Console

    from cloudml_edu.workspace import Workspace

__all__ = ["DemoResult", "run_demo"]

BACKENDS = ("designer", "sdk", "automl")


class DemoPrediction(BaseModel):
    """One held-out image sent to the endpoint."""

    path: str
    label: str
    predicted: str
    score: float


class DemoResult(BaseModel):
    """What the demo produced and where to find it."""

    workspace: str
    dataset: str
    runs: list[TrainingRun]
    best: str
    endpoint_url: str | None
    predictions: list[DemoPrediction]
    report: str | None = None


def command_for(program: str) -> str:
    """How to start ``program`` from this shell: its name when it is on PATH, else its path
    next to this Python (``.venv/bin/cloudml-edu`` after ``make demo``), relative when shorter."""
    if shutil.which(program):
        return program
    beside = Path(sys.executable).parent / program
    if not beside.exists():
        return program
    try:
        relative = os.path.relpath(beside)
    except ValueError:  # another drive on Windows
        relative = str(beside)
    return shlex.quote(min(relative, str(beside), key=len))


def next_steps(workspace: str) -> list[tuple[str, str]]:
    """What to run after the demo, each a command that works from the shell that ran it."""
    cli = command_for("cloudml-edu")
    store = Path(workspace, "mlflow.db").resolve()
    return [
        ("workspace", workspace),
        ("MLflow runs", f"{command_for('mlflow')} ui --backend-store-uri sqlite:///{store}"),
        ("compare again", f"{cli} compare"),
        ("HTML report", f"{cli} report --out report/"),
    ]


def run_demo(
    workspace: Workspace,
    *,
    data_dir: Path,
    backends: tuple[str, ...] = BACKENDS,
    deploy: bool = True,
    keep_endpoint: bool = False,
    n_predict: int = 10,
    automl_minutes: float = 1.0,
    console: Console,
    progress: bool | None = None,
) -> DemoResult:
    """Run the whole local path and narrate it on ``console``."""
    from cloudml_edu.report import compare
    from cloudml_edu.trainer import Trainer

    console.rule("1. sample dataset")
    sample = Dataset.sample("digits", data_dir, progress=progress)
    console.print(f"{len(sample)} images in {len(sample.classes)} classes under {data_dir}")

    console.rule("2. upload to the workspace store")
    uploaded = sample.upload(workspace, progress=progress)
    table = uploaded.register(workspace)
    console.print(f"uploaded to {uploaded.source.location}, registered as [bold]{table}[/]")

    runs: list[TrainingRun] = []
    for number, backend in enumerate(backends, 3):
        console.rule(f"{number}. train with backend {backend!r}")
        trainer = Trainer(
            backend, workspace=workspace, progress=progress, timeout_minutes=automl_minutes
        )
        run = trainer.fit(uploaded)
        console.print(run.summary())
        runs.append(run)

    console.rule("compare")
    comparison = compare(runs, prices=workspace.config.prices)
    comparison.print(console)
    best = max(runs, key=lambda r: r.metrics.accuracy if r.metrics else 0.0)

    predictions: list[DemoPrediction] = []
    endpoint_url = None
    if deploy:
        console.rule(f"deploy the best run ({best.backend}) and predict held-out images")
        predictions, endpoint_url = _deploy_and_predict(
            workspace,
            best,
            uploaded,
            n_predict=n_predict,
            keep=keep_endpoint,
            console=console,
            progress=progress,
        )
    return DemoResult(
        workspace=str(workspace.root),
        dataset=table,
        runs=runs,
        best=best.id,
        endpoint_url=endpoint_url,
        predictions=predictions,
    )


def _deploy_and_predict(
    workspace: Workspace,
    best: TrainingRun,
    dataset: Dataset,
    *,
    n_predict: int,
    keep: bool,
    console: Console,
    progress: bool | None,
) -> tuple[list[DemoPrediction], str]:
    from cloudml_edu.endpoint import Endpoint

    _, test = dataset.split(seed=0)
    held_out = list(test.iter_bytes())[:n_predict]
    endpoint = Endpoint.deploy(
        best, workspace=workspace, name="digits-demo", replace=True, progress=progress
    )
    try:
        answers = endpoint.predict([data for _, data in held_out])
        predictions = [
            DemoPrediction(
                path=record.path, label=record.label, predicted=a.label, score=round(a.score, 4)
            )
            for (record, _), a in zip(held_out, answers, strict=True)
        ]
        right = sum(p.label == p.predicted for p in predictions)
        for p in predictions:
            mark = "[green]ok[/]" if p.label == p.predicted else "[red]wrong[/]"
            console.print(
                f"  {p.path:<14} true {p.label}  predicted {p.predicted} ({p.score:.2f}) {mark}"
            )
        console.print(f"{right}/{len(predictions)} correct from {endpoint.url}")
        return predictions, endpoint.url
    finally:
        if not keep:
            endpoint.delete()
            console.print("endpoint stopped (pass --keep-endpoint to keep it running)")
