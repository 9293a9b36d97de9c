"""Azure ML adapter through the fake: requests, bytes and wall time per fit, twin build, polling.

Run: ``PYTHONPATH=src python benchmarks/bench_azureml.py``.  Everything goes through
:class:`cloudml_edu.testing.azure_ml.FakeAzureML` (no network): the request counts are
what the real azure-ai-ml client sends; the wall time is this machine running the job in
the twin (not Azure's queue and image pull), with the library's real polling intervals.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from _util import table
from PIL import Image

if TYPE_CHECKING:
    from cloudml_edu.testing.azure_ml import SentRequest

os.environ.setdefault("CLOUDML_NO_PROGRESS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _images(root: Path) -> Path:
    for c, label in enumerate(("cat", "dog", "fox")):
        (root / label).mkdir(parents=True)
        for i in range(20):
            Image.new("L", (16, 16), color=c * 80 + i).save(root / label / f"{i}.png")
    return root


def _submission(requests: list[SentRequest]) -> list[str]:
    """The requests up to and including the job PUT: what submitting cost."""
    shown = [f"{r.method} {r.path.rsplit('/workspaces/', 1)[-1]}" for r in requests]
    puts = [i for i, r in enumerate(requests) if r.method == "PUT" and "/jobs/" in r.path]
    return shown[: puts[0] + 1] if puts else shown


def main() -> None:
    import cloudml_edu.backends.azureml.backend as backend_module
    from cloudml_edu import Dataset, Trainer
    from cloudml_edu._polling import wait_until
    from cloudml_edu.backends.azureml.assets import code_snapshot
    from cloudml_edu.backends.azureml.connection import client_for
    from cloudml_edu.backends.azureml.environment import JOB_ENVIRONMENT, environment_id
    from cloudml_edu.testing.azure_ml import FakeAzureML
    from cloudml_edu.testing.twins import ensure_twin

    started = time.perf_counter()
    twin = ensure_twin(JOB_ENVIRONMENT)
    built = json.loads((twin.root / "twin.json").read_text())["build_seconds"]
    print(
        f"job twin: ready in {time.perf_counter() - started:.1f} s here "
        f"(built once in {built} s; warm pip cache)"
    )
    tmp = Path(tempfile.mkdtemp())
    with FakeAzureML(root=tmp / "ws") as fake:
        ws = fake.workspace
        ds = Dataset.from_folder(_images(tmp / "images"), progress=False).upload(ws)
        rows = [("", "requests", "of which submission", "bytes uploaded", "wall s")]
        for backend in ("sdk", "designer"):
            trainer = Trainer(backend, workspace=ws)
            sent = len(fake.requests)
            trainer.plan(ds)
            rows.append((f"{backend} plan()", str(len(fake.requests) - sent), "0", "0", ""))
            for which in ("first", "second"):
                sent, sent_bytes = len(fake.requests), fake.uploaded_bytes
                clock = time.perf_counter()
                trainer.fit(ds)
                seconds = time.perf_counter() - clock
                new = fake.requests[sent:]
                rows.append(
                    (
                        f"{backend} {which} fit",
                        str(len(new)),
                        str(len(_submission(new))),
                        str(fake.uploaded_bytes - sent_bytes),
                        f"{seconds:.1f}",
                    )
                )
                if which == "second":
                    print(f"{backend} second fit, submission: {', '.join(_submission(new))}")

        # The plain azure-ai-ml script for the same job, data and code already in place.
        from azure.ai.ml import Input, command

        before = len(fake.requests)
        client = client_for(ws)
        fake.script_job(statuses=["Completed"])
        data_uri = next(
            b["properties"]["inputs"]["data"]["uri"]
            for b in fake.jobs.values()
            if b["properties"]["jobType"] == "Command"
        )
        job = client.jobs.create_or_update(
            command(
                command="python -m cloudml_edu.training --data ${{inputs.data}}",
                code=str(code_snapshot(ws)),
                inputs={"data": Input(type="uri_folder", path=data_uri)},
                environment=environment_id(),
            )
        )
        client.jobs.get(job.name)
        plain = fake.requests[before:]
        print(f"plain script, submission: {', '.join(_submission(plain))}")
        rows.append(
            (
                "plain azure-ai-ml: command() + create_or_update + one get",
                str(len(plain)),
                str(len(_submission(plain))),
                "0",
                "",
            )
        )
        print(table(rows))

        # Status requests per minute while waiting, on a fake clock.
        now = [0.0]
        polls = [0]

        def check(elapsed: float) -> bool:
            polls[0] += 1
            return elapsed >= 600

        wait_until(
            check,
            timeout=700,
            describe=lambda e: "",
            interval=backend_module.POLL_INTERVAL,
            max_interval=backend_module.POLL_MAX_INTERVAL,
            progress=False,
            sleep=lambda s: now.__setitem__(0, now[0] + s),
            clock=lambda: now[0],
        )
        after_first_minute = polls[0]
        print(
            f"waiting 10 min: {polls[0]} status requests; "
            f"{(after_first_minute) / 10:.1f} per minute on average"
        )


if __name__ == "__main__":
    main()
