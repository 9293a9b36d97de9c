"""The examples in examples/ run as documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_quickstart_runs_and_predicts(tmp_path: Path) -> None:
    env = {**os.environ, "CLOUDML_NO_PROGRESS": "1"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "designer"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "plan: designer on local" in done.stdout
    assert "designer: accuracy 0.9" in done.stdout
    assert done.stdout.count("predicted") == 5
    assert not list((tmp_path / ".cloudml" / "endpoints").glob("*.json")), (
        "the endpoint was left running"
    )


def test_the_pytest_plugin_example_passes(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(EXAMPLES / "test_my_script.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 passed" in done.stdout
