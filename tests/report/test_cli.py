"""``cloudml-edu compare``, ``report`` and ``powerbi export|push`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from report_fakes import Trained
from typer.testing import CliRunner

from cloudml_edu.cli import app

# One worker trains the session's runs once for every report test (pytest -n with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("report")

runner = CliRunner()


@pytest.fixture(scope="module")
def config(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "cloudml.toml"
    path.write_text(
        f'owner = "student"\nroot = "{trained.root}"\n[prices]\nStandard_DS3_v2 = 0.3\n'
    )
    return path


def _json(args: list[str]) -> object:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_compare_defaults_to_the_latest_run_of_each_backend(config: Path, trained: Trained) -> None:
    rows = _json(["compare", "--config", str(config), "--json"])
    assert isinstance(rows, list)
    assert {r["run_id"] for r in rows} == {r.id for r in trained.student}
    everyone = _json(["compare", "--config", str(config), "--all-owners", "--json"])
    assert {r["owner"] for r in everyone} == {"student", "alice"}  # type: ignore[index]
    alice = _json(["compare", "--config", str(config), "--owner", "alice", "--json"])
    assert [r["run_id"] for r in alice] == [trained.runs["alice"].id]  # type: ignore[index]


def test_compare_named_runs_prints_a_table(config: Path, trained: Trained) -> None:
    ids = [trained.runs["designer"].id, trained.runs["alice"].id]
    result = runner.invoke(app, ["compare", *ids, "--config", str(config)], env={"COLUMNS": "140"})
    assert result.exit_code == 0, result.output
    assert "owner" in result.stdout and ids[0][:8] in result.stdout and ids[1][:8] in result.stdout


def test_errors_are_one_line_and_exit_1(config: Path) -> None:
    result = runner.invoke(app, ["compare", "--config", str(config), "--owner", "nobody"])
    assert result.exit_code == 1
    assert "NotFoundError" in result.output and "cloudml-edu train" in result.output
    both = runner.invoke(app, ["compare", "--config", str(config), "--owner", "x", "--all-owners"])
    assert both.exit_code == 1 and "either --owner or --all-owners" in both.output
    missing = runner.invoke(app, ["compare", "0" * 32, "--config", str(config)])
    assert missing.exit_code == 1 and "NotFoundError" in missing.output


def test_report_writes_html_and_pngs(config: Path, tmp_path: Path) -> None:
    out = _json(["report", "--config", str(config), "--out", str(tmp_path), "--json"])
    assert isinstance(out, dict)
    assert Path(out["html"]).is_file() and len(out["images"]) >= 10
    assert all(Path(p).parent == tmp_path for p in out["images"])


def test_powerbi_export_takes_every_run_of_the_selection(
    config: Path, tmp_path: Path, trained: Trained
) -> None:
    out = _json(
        [
            "powerbi",
            "export",
            "--config",
            str(config),
            "--all-owners",
            "--out",
            str(tmp_path),
            "--format",
            "parquet",
            "--json",
        ]
    )
    assert isinstance(out, dict)
    assert out["rows"]["dim_run"] == len(trained.runs)
    assert sorted(Path(p).name for p in out["files"]) == sorted(f"{t}.parquet" for t in out["rows"])
    bad = runner.invoke(app, ["powerbi", "export", "--config", str(config), "--format", "xlsx"])
    assert bad.exit_code == 1 and "parquet or csv" in bad.output


def test_powerbi_push_needs_a_group(config: Path) -> None:
    result = runner.invoke(app, ["powerbi", "push", "--config", str(config)])
    assert result.exit_code == 1 and "[powerbi] group_id" in result.output


@responses.activate
def test_powerbi_push_uses_the_configured_group(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re
    from types import SimpleNamespace

    import azure.identity

    class Credential:
        def get_token(self, *scopes: str) -> SimpleNamespace:
            return SimpleNamespace(token="cli-test-token-123", expires_on=4102444800)

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", Credential)
    config = tmp_path / "cloudml.toml"
    config.write_text(
        f'owner = "student"\nroot = "{trained.root}"\n[powerbi]\ngroup_id = "0b7c2a1e-5d3f-4c6a-9e8b-1f2a3b4c5d6e"\ndataset_name = "lab"\n'
    )
    base = "https://api.powerbi.com/v1.0/myorg/groups/0b7c2a1e-5d3f-4c6a-9e8b-1f2a3b4c5d6e/datasets"
    responses.get(base, json={"value": []})
    create = responses.post(base, json={"id": "ds-1"})
    rows = responses.post(re.compile(base + r"/ds-1/tables/fact_metric/rows"))
    responses.post(re.compile(base + r"/ds-1/tables/\w+/rows"))
    result = runner.invoke(app, ["powerbi", "push", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert json.loads(create.calls[0].request.body)["name"] == "lab"
    assert "created dataset lab (ds-1)" in result.stdout
    # the Power BI dataset name ("lab") is not the image dataset the runs are chosen by
    pushed = {
        row["run_key"] for call in rows.calls for row in json.loads(call.request.body)["rows"]
    }
    assert len(pushed) == 3  # the student's completed runs on the digits images


def test_report_from_the_cli_has_the_dataset_summary_and_new_images(
    config: Path, tmp_path: Path, trained: Trained, digits_dir: Path
) -> None:
    from cloudml_edu import Dataset, Workspace

    Dataset.from_folder(digits_dir).register(Workspace.local(trained.root, owner="student"))
    predictions = tmp_path / "new.json"
    predictions.write_text(
        json.dumps([{"image": "new/seven.png", "label": "7", "score": 0.91, "scores": {"7": 0.91}}])
    )
    out = _json(
        [
            "report",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "r"),
            "--new-images",
            str(predictions),
            "--json",
        ]
    )
    assert isinstance(out, dict)
    page = Path(out["html"]).read_text()
    assert "new images" in page and "new/seven.png" in page
    assert "dataset · " in page  # the summary of the runs' uploaded dataset


def test_report_refuses_a_predictions_file_that_is_not_one(config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "new.json"
    bad.write_text('{"not": "a list of predictions"}')
    result = runner.invoke(
        app,
        ["report", "--config", str(config), "--out", str(tmp_path / "r"), "--new-images", str(bad)],
    )
    assert result.exit_code == 1 and "cloudml-edu predict" in result.output
    assert not (tmp_path / "r" / "report.html").exists()
