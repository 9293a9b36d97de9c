"""`cloudml-edu demo`, the README's main command, end to end in a fresh folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_demo_runs_the_whole_lab(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("cloudml-edu")
    env = {**os.environ, "CLOUDML_NO_PROGRESS": "1"}
    done = subprocess.run(
        [str(exe), "demo", "--json", "--automl-minutes", "0.5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    runs = {run["backend"]: run for run in result["runs"]}
    assert set(runs) == {"designer", "sdk", "automl"}
    for name, run in runs.items():
        assert run["status"] == "Completed"
        assert run["metrics"]["accuracy"] > (0.9 if name == "designer" else 0.95), name
    # designer trains the Designer's Multiclass Decision Forest, sdk an svc: scores differ
    assert runs["designer"]["metrics"]["accuracy"] != runs["sdk"]["metrics"]["accuracy"]
    assert result["dataset"] == "hive_metastore.cloudml_student.digits"
    assert len(result["predictions"]) == 10
    assert sum(p["label"] == p["predicted"] for p in result["predictions"]) >= 9
    assert result["endpoint_url"].startswith("http://127.0.0.1:")
    assert len(list((tmp_path / "data" / "digits").rglob("*.png"))) == 1797
    assert not list((tmp_path / ".cloudml" / "endpoints").glob("*.json")), (
        "demo left its endpoint running"
    )


def test_closing_lines_name_commands_that_work_from_this_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu.demo import command_for, next_steps

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")  # the venv is not activated
    assert shutil.which("cloudml-edu") is None
    cli = command_for("cloudml-edu")
    assert Path(cli).is_file() and Path(cli).name == "cloudml-edu"
    steps = dict(next_steps(".cloudml"))
    assert steps["compare again"] == f"{cli} compare"
    assert steps["MLflow runs"].split()[0] == str(Path(cli).with_name("mlflow"))
    assert steps["MLflow runs"].endswith(f"sqlite:///{tmp_path.resolve()}/.cloudml/mlflow.db")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # activated: the bare name
    assert command_for("cloudml-edu") == "cloudml-edu"
