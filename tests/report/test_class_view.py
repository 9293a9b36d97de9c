"""The class view: hand-ins with different datasets, one comparison, a roll-up, a report."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cloudml_edu import Dataset, Trainer, Workspace
from cloudml_edu.cli import app
from cloudml_edu.handin import pack_workspace

COLOURS = {"red": (230, 60, 50), "green": (40, 170, 60), "blue": (70, 110, 240)}


def _images(folder: Path, *, colour: bool) -> Path:
    """12 images a class: colour classes, or grayscale shapes."""
    for k, (label, rgb) in enumerate(COLOURS.items()):
        (folder / label).mkdir(parents=True)
        for i in range(12):
            if colour:
                image = Image.new("RGB", (16, 16), rgb)
                image.putpixel((i, i), (128, 128, 128))
            else:
                image = Image.new("L", (16, 16), 0)
                for x in range(16):
                    image.putpixel((x, (x * (k + 1) + i) % 16), 255)
            image.save(folder / label / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """alice (colour images, designer + sdk, handed in with images) and bob (grayscale
    images, designer only, without images), unzipped into one class folder."""
    work = tmp_path_factory.mktemp("students")
    klass = tmp_path_factory.mktemp("class")
    for owner, colour, backends, images in (
        ("alice", True, ("designer", "sdk"), True),
        ("bob", False, ("designer",), False),
    ):
        ws = Workspace.local(work / owner / ".cloudml", owner=owner)
        data = Dataset.from_folder(
            _images(work / owner / "data", colour=colour), name=f"{owner}_set", progress=False
        ).upload(ws, progress=False)
        for backend in backends:
            Trainer(backend, workspace=ws, progress=False).fit(data)
        packed = pack_workspace(ws, work / f"{owner}.zip", images=images)
        with zipfile.ZipFile(packed.path) as archive:
            archive.extractall(klass)
    return klass


def test_colour_is_chosen_by_the_images(klass: Path) -> None:
    from cloudml_edu import TrainingRun

    modes = {
        run.owner: run.options.color_mode
        for folder in ("alice", "bob")
        for run in TrainingRun.list(Workspace.local(klass / folder / ".cloudml", owner=folder))
        if run.options
    }
    assert modes == {"alice": "RGB", "bob": "L"}


def test_one_comparison_holds_every_student_and_dataset(
    klass: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["compare", "-w", str(klass), "--json"])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    assert [(r["owner"], r["dataset"], r["backend"]) for r in rows] == [
        ("alice", "alice_set", "designer"),
        ("alice", "alice_set", "sdk"),
        ("bob", "bob_set", "designer"),
    ]
    assert {r["color_mode"] for r in rows} == {"RGB", "L"}
    rollup = json.loads(
        runner.invoke(app, ["compare", "-w", str(klass), "--rollup", "--json"]).stdout
    )
    assert [(s["owner"], s["missing"]) for s in rollup] == [
        ("alice", ["automl"]),
        ("bob", ["sdk", "automl"]),
    ]
    assert all(s["cloud_estimate_usd"] > 0 for s in rollup)
    one = runner.invoke(app, ["compare", "-w", str(klass), "--dataset", "bob_set", "--json"])
    assert [r["owner"] for r in json.loads(one.stdout)] == ["bob"]
    assert not (tmp_path / ".cloudml").exists()  # the instructor's folder is left alone


def test_the_class_report_shows_each_dataset_and_the_rollup(
    klass: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["report", "-w", str(klass), "--out", "r", "--json"])
    assert done.exit_code == 0, done.output
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert 'id="dataset-alice-alice_set"' in page and "36 images" in page
    assert 'id="rollup"' in page and "<tr class=missing>" in page
    assert "no summary of dataset bob_set of bob" in done.stderr  # handed in without images
    assert not (tmp_path / ".cloudml").exists()


def test_powerbi_reads_each_students_images_and_carries_settings_and_estimates(
    klass: Path, tmp_path: Path
) -> None:
    import pandas as pd

    done = CliRunner().invoke(
        app, ["powerbi", "export", "-w", str(klass), "--out", str(tmp_path / "p"), "--json"]
    )
    assert done.exit_code == 0, done.output
    runs = pd.read_parquet(tmp_path / "p" / "dim_run.parquet")
    assert set(runs["dataset"]) == {"alice_set", "bob_set"}
    assert (runs["estimate_usd"] > 0).all() and set(runs["color_mode"]) == {"RGB", "L"}
    features = pd.read_parquet(tmp_path / "p" / "fact_image_feature.parquet")
    assert features["brightness"].notna().any()  # alice's images were handed in


def test_reflection_is_prefilled_with_prompts_and_never_overwrites_answers(
    klass: Path, tmp_path: Path
) -> None:
    alice = klass / "alice" / ".cloudml"
    args = ["report", "-w", str(alice), "--out", str(tmp_path / "r"), "--reflection", "--json"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    sheet = Path(json.loads(done.stdout)["reflection"]).read_text(encoding="utf-8")
    assert "| | designer | sdk |" in sheet
    for dimension in ("transparency", "usability", "deployment", "cost"):
        assert f"| {dimension} |" in sheet and f"## {dimension.capitalize()}" in sheet
    assert "6 things to open" in sheet and "on Azure ML (start-up + run" in sheet
    assert sheet.count("> _your answer_") == 4
    again = CliRunner().invoke(app, args)
    assert json.loads(again.stdout)["reflection"].endswith("reflection.new.md")
