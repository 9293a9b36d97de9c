"""Helpers for the report tests: the trained-runs bundle and in-memory runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cloudml_edu.metrics import ClassReport, Compute, Metrics
from cloudml_edu.run import JobRecord, TrainingRun
from cloudml_edu.workspace import Workspace


@dataclass
class Trained:
    """One workspace holding real runs: designer, sdk and automl of "student", designer of "alice"."""

    root: Path
    runs: dict[str, TrainingRun]

    @property
    def student(self) -> list[TrainingRun]:
        return [self.runs[name] for name in ("designer", "sdk", "automl")]

    def workspace(self, owner: str = "student") -> Workspace:
        return Workspace.local(self.root, owner=owner)


def synthetic_run(
    *,
    backend: str = "sdk",
    owner: str = "student",
    sku: str = "Standard_DS3_v2",
    node_hours: float = 0.5,
    started: datetime | None = None,
    labels: tuple[str, ...] = ("cat", "dog"),
    run_id: str | None = None,
) -> TrainingRun:
    """A finished run built in memory (no MLflow store): for many-run and cloud-compute cases."""
    start = started or datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    n = len(labels)
    matrix = [[8 if i == j else 1 for j in range(n)] for i in range(n)]
    return TrainingRun(
        id=run_id or f"{owner}-{backend}-{start:%H%M%S}".ljust(32, "0"),
        backend=backend,
        target="azureml",
        owner=owner,
        dataset="pets",
        status="Completed",
        started=start,
        ended=start + timedelta(minutes=3),
        metrics=Metrics(
            accuracy=0.8,
            f1_macro=0.79,
            labels=list(labels),
            confusion_matrix=matrix,
            per_class={
                c: ClassReport(precision=0.8, recall=0.8, f1=0.8, support=8 + n - 1) for c in labels
            },
            n_test=n * (8 + n - 1),
            compute=Compute(sku=sku, nodes=1, node_hours=node_hours),
        ),
        model="runs:/x/model",
        job=JobRecord(command=["python", "train.py", "--model", "svc"], log_path="job.log")
        if backend == "sdk"
        else None,
    )
