"""Instructors: several workspaces at once, handed-in folders, colliding and default owners."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cloudml_edu import Dataset, Trainer, TrainingRun, Workspace
from cloudml_edu.cli import app
from cloudml_edu.errors import NotFoundError
from cloudml_edu.report import compare
from cloudml_edu.report.workspaces import find_workspaces, runs_of_workspaces


@pytest.fixture(scope="module")
def handed_in(tmp_path_factory: pytest.TempPathFactory, digits_dir: Path) -> Path:
    """A class folder: alice/.cloudml and bob/.cloudml, both with the default owner, trained
    elsewhere and moved here (the original folders are gone)."""
    work = tmp_path_factory.mktemp("students")
    klass = tmp_path_factory.mktemp("class")
    data = Dataset.from_folder(digits_dir)
    for name, model in (("alice", "knn"), ("bob", "logistic_regression")):
        ws = Workspace.local(work / name / ".cloudml")  # owner "student" for both
        Trainer("sdk", workspace=ws, model=model, progress=False).fit(data)
        shutil.copytree(work / name, klass / name)
    shutil.rmtree(work)
    (klass / "notes").mkdir()  # not a workspace: skipped
    return klass


def test_handed_in_workspaces_are_found_and_read_after_a_move(handed_in: Path) -> None:
    folders = find_workspaces([handed_in])
    assert [f.relative_to(handed_in).as_posix() for f in folders] == [
        "alice/.cloudml",
        "bob/.cloudml",
    ]
    runs, notes = runs_of_workspaces(folders)
    assert len(runs) == 2 and {r.owner for r in runs} == {"student"}
    assert any("owner 'student' has runs in 2 workspaces" in n for n in notes)
    assert any("still use the default owner 'student'" in n for n in notes)
    table = compare(runs)  # artifacts are read from the moved folders
    assert {row.workspace for row in table.rows} == {"alice/.cloudml", "bob/.cloudml"}
    assert all(row.artifacts and row.artifacts > 3 for row in table.rows)
    console = Console(record=True, width=220)
    table.print(console)
    header = next(line for line in console.export_text().splitlines() if "backend" in line)
    assert "workspace" in header
    with pytest.raises(NotFoundError, match="no workspace in"):
        find_workspaces([handed_in / "notes"])


def test_the_cli_keeps_colliding_owners_apart(handed_in: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["compare", "--workspace", str(handed_in), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sorted(r["workspace"] for r in rows) == ["alice/.cloudml", "bob/.cloudml"]
    assert "default owner 'student'" in result.stderr and "2 workspaces" in result.stderr
    alice = handed_in / "alice" / ".cloudml"
    bob = handed_in / "bob" / ".cloudml"
    both = runner.invoke(app, ["compare", "-w", str(alice), "-w", str(bob), "--json"])
    assert len(json.loads(both.stdout)) == 2
    one = TrainingRun.list(Workspace.local(alice))[0]
    named = runner.invoke(app, ["compare", one.id[:6], "-w", str(handed_in), "--json"])
    assert [r["run_id"] for r in json.loads(named.stdout)] == [one.id]
    report = runner.invoke(
        app, ["report", "-w", str(handed_in), "--out", str(tmp_path / "r"), "--json"]
    )
    assert report.exit_code == 0, report.output
    assert "bob/.cloudml" in Path(json.loads(report.stdout)["html"]).read_text()
    export = runner.invoke(
        app, ["powerbi", "export", "-w", str(handed_in), "--out", str(tmp_path / "p"), "--json"]
    )
    assert export.exit_code == 0, export.output
    assert json.loads(export.stdout)["rows"]["dim_run"] == 2
