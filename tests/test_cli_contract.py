"""The CLI's promises: every command has --help and --json; with --json, stdout is one JSON
document (progress and notes on stderr); --debug anywhere; hints name CLI flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cloudml_edu.cli import app, without_debug

runner = CliRunner()


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):  # a sub-app (typer's group class)
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = list(_commands(typer.main.get_group(app)))


def test_the_walk_finds_every_command() -> None:
    assert {"train", "runs", "demo", "compare", "report"} <= {c[0] for c in COMMANDS}
    assert ("endpoint", "delete") in COMMANDS and ("dataset", "delete") in COMMANDS
    assert ("powerbi", "export") in COMMANDS and len(COMMANDS) >= 15


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_and_a_json_option(command: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout and "--json" in result.stdout


def test_train_help_lists_the_valid_values() -> None:
    text = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "250"}).stdout
    for value in (
        "Multiclass Decision Forest",
        "logistic_regression",
        "--image-size",
        "--color-mode",
        "--max-trials",
        "--time-budget",
        "f1_macro",
        "--skip-invalid",
    ):
        assert value in text, value


@pytest.fixture(scope="module")
def trained_here(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a local workspace holding one designer run on a small dataset."""
    from PIL import Image, ImageDraw

    here = tmp_path_factory.mktemp("contract")
    for c, label in enumerate(("circle", "square")):
        (here / "shapes" / label).mkdir(parents=True)
        for i in range(8):
            image = Image.new("L", (24, 24), 0)
            draw = ImageDraw.Draw(image)
            box = (4 + i % 4, 4, 18 + i % 4, 18)
            (draw.ellipse if c == 0 else draw.rectangle)(box, outline=255, width=2)
            image.save(here / "shapes" / label / f"{i}.png")
    return here


def _cli(here: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("CLOUDML_NO_PROGRESS", "CLOUDML_CONFIG")
    }
    env["COLUMNS"] = "120"
    exe = Path(sys.executable).with_name("cloudml-edu")
    return subprocess.run(
        [str(exe), *args], cwd=here, capture_output=True, text=True, env=env, check=False
    )


def test_train_json_prints_only_json_even_with_progress_on(trained_here: Path) -> None:
    done = _cli(trained_here, "train", "shapes", "--model", "knn", "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)  # the progress bar went to stderr
    assert run["status"] == "Completed" and run["options"]["model"] == "knn"


def test_progress_bars_draw_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from cloudml_edu._progress import track

    with track("checking images", total=2, progress=True) as bar:
        bar.advance(2)
    captured = capsys.readouterr()
    assert captured.out == "" and "checking images" in captured.err


LISTING = [
    ["runs"],
    ["dataset", "list"],
    ["endpoint", "list"],
    ["compare"],
    ["compare", "--status", "all"],
    ["train", "shapes", "--plan", "--backend", "automl", "--max-trials", "2"],
    ["endpoint", "delete", "no-such-endpoint"],
]


@pytest.mark.parametrize("args", LISTING, ids=" ".join)
def test_listing_commands_print_json_on_stdout(
    trained_here: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained_here)
    if not (trained_here / ".cloudml" / "mlflow.db").exists():
        test_train_json_prints_only_json_even_with_progress_on(trained_here)
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)


def test_a_short_run_id_prefix_works_in_compare(
    trained_here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained_here)
    if not (trained_here / ".cloudml" / "mlflow.db").exists():
        test_train_json_prints_only_json_even_with_progress_on(trained_here)
    runs = json.loads(runner.invoke(app, ["runs", "--json"]).stdout)
    rows = json.loads(runner.invoke(app, ["compare", runs[0]["id"][:5], "--json"]).stdout)
    assert [r["run_id"] for r in rows] == [runs[0]["id"]] and rows[0]["dataset"] == "shapes"


def test_debug_anywhere_and_hints_in_cli_words(trained_here: Path) -> None:
    assert without_debug(["train", "x", "--debug"]) == (["train", "x"], True)
    assert without_debug(["predict", "--", "--debug"]) == (["predict", "--", "--debug"], False)
    done = _cli(trained_here, "train", "no-such-dataset", "--debug")
    assert done.returncode == 1 and "Traceback" in done.stderr
    plain = _cli(trained_here, "train", "no-such-dataset")
    assert "cloudml-edu dataset upload FOLDER --name NAME" in plain.stderr
    assert "Dataset.register" not in plain.stderr and "Traceback" not in plain.stderr


def test_under_json_a_library_printing_on_stdout_cannot_spoil_the_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu.cli import _common

    monkeypatch.setattr(_common, "_json_stdout", None)
    real = sys.stdout
    try:
        _common.keep_stdout_for_json(["endpoint", "list", "--json"])
        print(".", end="", flush=True)  # what azure-ai-ml's endpoint poller does
        _common.print_json({"ok": True})
    finally:
        sys.stdout = real
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"ok": True}
    assert captured.err == "."
