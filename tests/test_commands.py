"""The CLI: JSON output for tooling, one-line errors with exit codes, tracebacks only with --debug."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLOUDML_NO_PROGRESS": "1"}
    env.pop("CLOUDML_CONFIG", None)
    exe = Path(sys.executable).with_name("cloudml-edu")
    done = subprocess.run(
        [str(exe), *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_help_and_version(tmp_path: Path) -> None:
    out = cli("--help", cwd=tmp_path).stdout
    for command in (
        "demo",
        "train",
        "runs",
        "dataset",
        "deploy",
        "predict",
        "endpoint",
        "compare",
        "report",
    ):
        assert command in out
    assert cli("--version", cwd=tmp_path).stdout.startswith("cloudml-edu ")


def test_train_plan_then_train_then_list_as_json(tmp_path: Path, tiny_dir: Path) -> None:
    plan = json.loads(
        cli(
            "train",
            str(tiny_dir),
            "--backend",
            "automl",
            "--max-trials",
            "3",
            "--plan",
            "--json",
            cwd=tmp_path,
        ).stdout
    )
    assert plan["backend"] == "automl" and plan["estimated_cost_usd"] == 0.0
    assert len(plan["steps"][1]["detail"]["trials"]) == 3
    assert not (tmp_path / ".cloudml" / "runs").exists() or not any(
        (tmp_path / ".cloudml" / "runs").iterdir()
    )
    run = json.loads(
        cli(
            "train",
            str(tiny_dir),
            "--backend",
            "designer",
            "--model",
            "knn",
            "--json",
            cwd=tmp_path,
        ).stdout
    )
    assert run["status"] == "Completed" and run["metrics"]["accuracy"] > 0.5
    listed = json.loads(cli("runs", "--json", cwd=tmp_path).stdout)
    assert [r["id"] for r in listed] == [run["id"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("train", "no-such-dataset"),
            "NotFoundError: dataset hive_metastore.cloudml_student.no_such_dataset",
        ),
        (("train", ".", "--backend", "sagemaker"), "ConfigError"),
    ],
)
def test_errors_are_one_line_with_exit_code_1(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    done = cli(*args, cwd=tmp_path, check=False)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = cli("--debug", "train", "missing", cwd=tmp_path, check=False)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "NotFoundError" in done.stderr


def test_a_broken_config_is_reported(tmp_path: Path) -> None:
    (tmp_path / "cloudml.toml").write_text('[storage]\ncontainer = "NO"\n')
    done = cli("runs", cwd=tmp_path, check=False)
    assert done.returncode == 1
    assert "[storage] container" in done.stderr
