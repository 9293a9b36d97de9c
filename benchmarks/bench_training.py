"""Training on digits with the local backends: wall time and accuracy.

Targets: sdk accuracy >= 0.97 within 15 s wall; automl >= 0.98 within 2 minutes.
Run: .venv/bin/python benchmarks/bench_training.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _util import table

from cloudml_edu import Dataset, Trainer, Workspace


def main() -> None:
    rows = [("backend", "wall s", "accuracy", "F1 macro", "detail")]
    with tempfile.TemporaryDirectory() as tmp:
        dataset = Dataset.sample("digits", Path(tmp) / "digits", progress=False)
        ws = Workspace.local(Path(tmp) / "ws")
        uploaded = dataset.upload(ws, progress=False)
        Trainer("designer", workspace=ws, progress=False).plan(
            uploaded
        )  # tracking store created here
        from cloudml_edu.backends.local.tracking import use_workspace

        use_workspace(ws, "cloudml-edu")
        for backend in ("sdk", "designer", "automl"):
            started = time.perf_counter()
            run = Trainer(backend, workspace=ws, progress=False, timeout_minutes=2.0).fit(uploaded)
            seconds = time.perf_counter() - started
            assert run.metrics is not None
            detail = {
                "sdk": "job in a subprocess",
                "designer": f"{len(run.steps)} steps",
                "automl": f"{len(run.trials)} trials",
            }[backend]
            rows.append(
                (
                    backend,
                    f"{seconds:.1f}",
                    f"{run.metrics.accuracy:.4f}",
                    f"{run.metrics.f1_macro or 0:.4f}",
                    detail,
                )
            )
    print(table(rows))


if __name__ == "__main__":
    main()
