"""Requests and bytes of a Databricks ``automl`` fit, counted through the fake workspace.

Runs the real databricks-sdk client against :mod:`cloudml_edu.testing.databricks`
(features in a Unity Catalog volume; the task runs for real in the runtime's twin)
and measures:

- a bad token: seconds until ``Trainer("automl").fit`` raises AuthError (target < 5 s);
- the first and the second ``fit`` of the same dataset: requests and bytes sent
  to Databricks (the second sends no feature table or code files);
- the same run as a plain databricks-sdk script (``jobs.submit`` + waiting +
  task output + the best trial's metrics), counted through the same fake;
- status polls per minute of a long run, on an injected clock (``wait_until``
  with the adapter's intervals);
- ``plan()``: requests sent (target 0).

    python benchmarks/bench_databricks.py [--images-per-class 40]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._util import table
from cloudml_edu import Dataset, Trainer
from cloudml_edu._polling import wait_until
from cloudml_edu.backends.databricks.connection import Timing
from cloudml_edu.errors import AuthError
from cloudml_edu.testing.databricks import FakeDatabricks, fake_databricks
from cloudml_edu.testing.twins import cache_root


def _images(root: Path, per_class: int) -> Path:
    from cloudml_edu.samples import write_digits

    folder = write_digits(root / "digits")
    for label in folder.iterdir():  # keep the first per_class images of each digit
        for extra in sorted(label.iterdir())[per_class:]:
            extra.unlink()
    return folder


def _counted(fake: FakeDatabricks, start: int) -> tuple[int, int]:
    sent = fake.requests[start:]
    return len(sent), sum(r.size for r in sent)


def _plain_sdk_script(fake: FakeDatabricks, body: dict[str, Any]) -> int:
    """The same one-time run written by hand with databricks-sdk; returns its request count."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.jobs import SubmitTask

    start = len(fake.requests)
    client = WorkspaceClient(host=fake.host, token=fake.token, auth_type="pat")
    waiter = client.jobs.submit(
        run_name=body["run_name"], tasks=[SubmitTask.from_dict(t) for t in body["tasks"]]
    )
    run = waiter.result()  # polls jobs/runs/get until TERMINATED (sleeps 1 s, 2 s...)
    assert run.tasks and run.tasks[0].run_id is not None
    output = client.jobs.get_run_output(run.tasks[0].run_id)
    best = next(x for x in (output.logs or "").splitlines() if x.startswith("CLOUDML_RESULT"))
    import json

    client.experiments.get_run(json.loads(best.split(" ", 1)[1])["best_run_id"])
    return len(fake.requests) - start


def _polls_per_minute(minutes: int) -> float:
    """How many status requests a run of ``minutes`` costs with the adapter's poll intervals."""
    now = [0.0]
    checks = [0]

    def check(elapsed: float) -> bool:
        checks[0] += 1
        return now[0] >= minutes * 60

    def sleep(seconds: float) -> None:
        now[0] += seconds

    wait_until(
        check,
        timeout=minutes * 60 + 60,
        describe=lambda elapsed: "run",
        interval=Timing.interval,
        max_interval=Timing.max_interval,
        progress=False,
        sleep=sleep,
        clock=lambda: now[0],
    )
    return checks[0] / minutes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images-per-class", type=int, default=40)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("DATABRICKS_")]:
        del os.environ[name]
    os.environ["CLOUDML_NO_PROGRESS"] = "1"
    polls = {m: _polls_per_minute(m) for m in (1, 10, 60)}
    os.environ.setdefault("CLOUDML_TWIN_CACHE", str(cache_root()))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["HOME"] = str(root)
        dataset = Dataset.from_folder(_images(root, args.images_per_class), name="digits")
        with fake_databricks(root / "ws") as fake:
            ws = fake.workspace
            trainer = Trainer("automl", workspace=ws, timeout_minutes=5)
            plan = trainer.plan(dataset)
            plan_requests = len(fake.requests)

            good = fake.token
            fake.token = "dapi" + "e" * 32  # the server now expects another token
            started = time.perf_counter()
            try:
                trainer.fit(dataset)
            except AuthError:
                bad_token_seconds = time.perf_counter() - started
            else:
                raise SystemExit("a bad token did not fail")
            fake.token = good

            mark = len(fake.requests)
            started = time.perf_counter()
            trainer.fit(dataset)
            first_seconds = time.perf_counter() - started
            first = _counted(fake, mark)
            mark = len(fake.requests)
            trainer.fit(dataset)
            second = _counted(fake, mark)
            body = plan.steps[-1].detail["POST /api/2.2/jobs/runs/submit"]
            plain = _plain_sdk_script(fake, body)
    rows: list[tuple[str, ...]] = [
        ("what", "measured"),
        ("bad token -> AuthError", f"{bad_token_seconds:.2f} s"),
        ("plan(): requests to Databricks", str(plan_requests)),
        ("first fit: requests / bytes", f"{first[0]} / {first[1]:,} ({first_seconds:.1f} s wall)"),
        ("second fit: requests / bytes", f"{second[0]} / {second[1]:,}"),
        ("plain sdk script (submit + wait + output + metrics)", str(plain)),
        (
            "status polls, 1 / 10 / 60 min run (per minute)",
            " / ".join(f"{polls[m]:.1f}" for m in polls),
        ),
    ]
    print(f"{len(dataset)} images, fake Databricks (Unity Catalog volume, task in the twin)\n")
    print(table(rows))
    ok = bad_token_seconds < 5 and plan_requests == 0 and second[0] <= plain
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
