"""Benchmarks of the reflection half: an HTML report of 10 runs, a Power BI export of 100,000 predictions.

    python benchmarks/bench_report.py [--workspace DIR] [--runs 10] [--predictions 100000]

Targets: the report in under 10 s, the export in under 5 s.  The report is timed
twice: in-process (``write_report``) and end to end (``cloudml-edu report`` in a
fresh process, imports included).  Training the runs is setup and not timed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("CLOUDML_NO_PROGRESS", "1")

REPORT_TARGET_S = 10.0
EXPORT_TARGET_S = 5.0


def _train(root: Path, count: int) -> list[str]:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.trainer import Trainer
    from cloudml_edu.workspace import Workspace

    ws = Workspace.local(root)
    runs = TrainingRun.list(ws)
    if len(runs) < count:
        data = Dataset.sample("digits", root / "digits", progress=False)
        families = ["svc", "knn", "logistic_regression", "random_forest", "mlp"]
        for i in range(count - len(runs)):
            Trainer(
                "designer", workspace=ws, progress=False, model=families[i % len(families)]
            ).fit(data)
        runs = TrainingRun.list(ws)
    return [run.id for run in runs[:count]]


def bench_report(root: Path, count: int) -> tuple[float, float]:
    from cloudml_edu.report import write_report
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.workspace import Workspace

    ids = _train(root, count)
    ws = Workspace.local(root)
    runs = [TrainingRun.get(ws, run_id) for run_id in ids]
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        report = write_report(runs, out)
        in_process = time.perf_counter() - started
        assert len(report.images) >= 4 * count + 1, report.images
    config = root / "bench.toml"
    config.write_text(f'root = "{root}"\n')
    with tempfile.TemporaryDirectory() as out:
        cli = Path(sys.executable).with_name("cloudml-edu")
        started = time.perf_counter()
        subprocess.run(
            [str(cli), "report", *ids, "--config", str(config), "--out", out],
            check=True,
            capture_output=True,
        )
        end_to_end = time.perf_counter() - started
    return in_process, end_to_end


def bench_export(predictions: int, runs: int = 10) -> tuple[float, float]:
    import numpy as np
    import pandas as pd

    from cloudml_edu.metrics import ClassReport, Compute, Metrics
    from cloudml_edu.report import build_star_schema
    from cloudml_edu.run import TrainingRun

    labels = [str(i) for i in range(10)]
    per_run = predictions // runs
    rng = np.random.default_rng(0)
    truth = rng.choice(labels, per_run)
    guess = np.where(rng.random(per_run) < 0.9, truth, rng.choice(labels, per_run))
    frame = pd.DataFrame(
        {
            "path": [f"{t}/{i:06d}.png" for i, t in enumerate(truth)],
            "label": truth,
            "predicted": guess,
            "score": rng.random(per_run),
        }
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    report = ClassReport(precision=0.9, recall=0.9, f1=0.9, support=per_run // 10)
    metrics = Metrics(
        accuracy=0.9,
        f1_macro=0.9,
        labels=labels,
        confusion_matrix=[[per_run // 100] * 10 for _ in labels],
        per_class=dict.fromkeys(labels, report),
        n_test=per_run,
        compute=Compute(sku="Standard_DS3_v2", node_hours=0.2),
    )
    fleet = [
        TrainingRun(
            id=f"{i:032x}",
            backend=("designer", "sdk", "automl")[i % 3],
            owner=f"s{i}",
            dataset="digits",
            status="Completed",
            started=start + timedelta(days=i),
            ended=start + timedelta(days=i, minutes=5),
            metrics=metrics,
        )
        for i in range(runs)
    ]
    started = time.perf_counter()
    schema = build_star_schema(fleet, predictions=lambda run: frame, artifacts=False)
    built = time.perf_counter() - started
    assert len(schema["fact_prediction"]) == per_run * runs and not schema.dangling_keys()
    with tempfile.TemporaryDirectory() as out:
        schema.write(out)
    return built, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="reuse (or create) runs in this workspace")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--predictions", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = (args.workspace or Path(tmp) / "ws").resolve()
        in_process, end_to_end = bench_report(root, args.runs)
    built, total = bench_export(args.predictions)
    print(
        f"report, {args.runs} runs: {in_process:.2f} s in-process, {end_to_end:.2f} s end to end "
        f"(`cloudml-edu report`, imports included); target < {REPORT_TARGET_S:.0f} s"
    )
    print(
        f"Power BI export, {args.predictions:,} predictions: {built:.2f} s to build the star schema, "
        f"{total:.2f} s with Parquet + CSV written; target < {EXPORT_TARGET_S:.0f} s"
    )
    if max(end_to_end, in_process) > REPORT_TARGET_S or total > EXPORT_TARGET_S:
        sys.exit("a benchmark missed its target")


if __name__ == "__main__":
    main()
