"""The local lab without POSIX-only modules: what a student on Windows runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

#: A fit and a predict with ``fcntl`` unimportable (as on Windows) and ``os.killpg`` gone.
LAB = """
import os, sys
sys.modules["fcntl"] = None  # import fcntl now raises ImportError, as on Windows
del os.killpg
from cloudml_edu import Dataset, Endpoint, Trainer, TrainingRun, Workspace
ws = Workspace.local(sys.argv[1])
ds = Dataset.from_folder(sys.argv[2])
run = Trainer("designer", workspace=ws).fit(ds)
assert TrainingRun.get(ws, run.id).status == "Completed"
with Endpoint.deploy(run, workspace=ws, name="portable") as ep:
    image = sorted(ds.records, key=lambda r: r.path)[0]
    print(ep.predict(os.path.join(sys.argv[2], image.path))[0].label, image.label)
print("fcntl" in sys.modules and sys.modules["fcntl"] is None)
"""


@pytest.mark.slow
def test_the_local_lab_runs_without_fcntl(tmp_path: Path, tiny_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LAB, str(tmp_path / "ws"), str(tiny_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    predicted, label = lines[-2].split()
    assert predicted in {"circle", "square", "cross"} and label == "circle"
    assert lines[-1] == "True"  # nothing put a real fcntl back
