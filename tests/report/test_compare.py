"""compare(): one table across runs, backends and owners."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_fakes import Trained, synthetic_run
from rich.console import Console

from cloudml_edu.pricing import PRICES
from cloudml_edu.report import PROFILES, compare
from cloudml_edu.report.comparison import model_family
from cloudml_edu.report.profiles import BackendProfile
from cloudml_edu.run import TrainingRun

# One worker trains the session's runs once for every report test (pytest -n with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("report")


def _files_on_disk(trained: Trained, run_id: str) -> int:
    folder = next(trained.root.glob(f"artifacts/*/{run_id}/artifacts"))
    return sum(1 for p in folder.rglob("*") if p.is_file())


def test_one_row_per_run_with_every_dimension(trained: Trained) -> None:
    table = compare(trained.student)
    rows = {row.backend: row for row in table.rows}
    assert set(rows) == {"designer", "sdk", "automl"}
    for name, row in rows.items():
        run = trained.runs[name]
        assert run.metrics is not None
        assert row.accuracy == run.metrics.accuracy
        assert row.f1_macro == run.metrics.f1_macro
        assert row.wall_seconds == pytest.approx(run.seconds, abs=1e-3)
        assert row.cost_usd == 0.0 and row.compute_sku == "local"
        assert row.dataset == run.dataset == "digits"
        assert row.estimates and all(e.usd is not None and e.usd >= 0 for e in row.estimates)
        assert all(e.basis.startswith("estimate:") for e in row.estimates)
        assert row.user_code_lines == PROFILES[name].user_code_lines
        assert row.deployment_steps == PROFILES[name].deployment_steps
        assert row.artifacts == _files_on_disk(trained, run.id)
    assert rows["designer"].inspectable_steps == 6
    assert rows["automl"].inspectable_steps == len(trained.runs["automl"].trials) > 0
    assert rows["sdk"].inspectable_steps == 2  # the job and its log


def test_renders_to_terminal_frame_html_and_json(trained: Trained) -> None:
    table = compare(trained.student)
    console = Console(record=True, width=120)
    table.print(console)
    text = console.export_text()
    for run in trained.student:
        assert run.id[:8] in text
    assert "owner" not in text.splitlines()[1]  # one owner: no owner column
    designer = trained.runs["designer"].metrics
    assert designer is not None and f"{designer.accuracy:.3f}" in text

    frame = table.to_frame()
    assert list(frame["run_id"]) == [r.id for r in trained.student]
    assert {"accuracy", "f1_macro", "node_hours", "cost_usd", "artifacts"} <= set(frame.columns)

    page = table.to_html()
    # a header, each local run, and under it one estimate row for the one cloud offering it
    assert page.count("<tr") == 1 + 2 * len(trained.student) and 'class="best"' in page
    assert page.count('<tr class="estimate">') == len(trained.student)
    records = json.loads(json.dumps(table.to_records()))
    assert records[0]["run_id"] == trained.student[0].id


def test_instructor_view_adds_the_owner_column(trained: Trained) -> None:
    runs = TrainingRun.list(trained.workspace())
    assert {r.owner for r in runs} == {"student", "alice"}
    table = compare(runs)
    assert set(table.owners) == {"alice", "student"}
    console = Console(record=True, width=140)
    table.print(console)
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "backend" in line)
    assert header.split()[0] == "owner"
    owners = [line.split()[0] for line in lines if any(r.id[:8] in line for r in runs)]
    assert sorted(owners) == sorted(r.owner for r in runs)


def test_cloud_compute_is_priced_and_overridable() -> None:
    run = synthetic_run(sku="Standard_DS3_v2", node_hours=0.5)
    row = compare([run], artifacts=False).rows[0]
    assert row.cost_usd == pytest.approx(PRICES["Standard_DS3_v2"].usd_per_hour * 0.5, abs=1e-4)
    assert compare([run], prices={"Standard_DS3_v2": 0.3}, artifacts=False).rows[0].cost_usd == 0.15
    unknown = compare([synthetic_run(sku="Standard_Z9")], artifacts=False).rows[0]
    assert unknown.cost_usd is None and "[prices]" in unknown.price_source
    assert unknown.artifacts is None  # not counted


def test_model_family_for_each_backend(trained: Trained) -> None:
    assert model_family(trained.runs["designer"]) == "Multiclass Decision Forest"
    assert model_family(trained.runs["alice"]) == "knn"
    assert model_family(trained.runs["sdk"]) == "svc"
    automl = trained.runs["automl"]
    best = max((t for t in automl.trials if t.score is not None), key=lambda t: t.score or 0)
    assert model_family(automl) == best.family


def test_profile_lines_count_code_not_comments_or_blanks() -> None:
    profile = BackendProfile(
        "x", "svc", "style", "# comment\n\nimport a\n  # indented comment\nrun()\n", ("one",), ""
    )
    assert profile.user_code_lines == 2 and profile.deployment_steps == 1
    assert PROFILES["designer"].user_code_lines == 0
    assert PROFILES["sdk"].user_code_lines > PROFILES["automl"].user_code_lines > 0


def test_import_is_lazy(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, cloudml_edu.report, cloudml_edu.pricing, cloudml_edu.report.profiles\n"
        "print([m for m in ('matplotlib', 'mlflow', 'pandas') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_are_not_shadowed_by_submodules() -> None:
    import importlib
    import types

    import cloudml_edu.report as report

    for module in ("comparison", "plots", "html", "profiles", "powerbi.export", "powerbi.push"):
        importlib.import_module(f"cloudml_edu.report.{module}")
    for name in report.__all__:
        assert not isinstance(getattr(report, name), types.ModuleType), name


def test_failed_runs_are_listed_with_empty_metrics() -> None:
    failed = synthetic_run(run_id="f" * 32).model_copy(update={"status": "Failed", "metrics": None})
    table = compare([failed, synthetic_run()], artifacts=False)
    row = table.rows[0]
    assert row.accuracy is None and row.cost_usd is None and row.status == "Failed"
    assert table.best() is table.rows[1]
    console = Console(record=True, width=120)
    table.print(console)
    failed_line = next(line for line in console.export_text().splitlines() if "ffffffff" in line)
    assert failed_line.count("—") >= 3


def test_a_narrow_terminal_never_truncates_a_cell(trained: Trained) -> None:
    table = compare(trained.student)
    console = Console(record=True, width=60)
    table.print(console)
    text = console.export_text()
    assert "…" not in text
    for run in trained.student:
        assert run.id[:8] in text and run.dataset in text
