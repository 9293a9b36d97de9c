"""Stores fail soft: a bad run record is skipped, a damaged SQLite store names the file and
`cloudml-edu repair` (which rebuilds it), a copied workspace writes into its own folder,
and runs whose artifacts are gone are listed as such."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudml_edu import (
    Dataset,
    NotFoundError,
    StoreDamagedError,
    Trainer,
    TrainingRun,
    Workspace,
)
from cloudml_edu.cli import app
from cloudml_edu.repair import repair_workspace


def _fit(ws: Workspace, data: object) -> TrainingRun:
    return Trainer("designer", workspace=ws, progress=False, model="knn", image_size=8).fit(data)


def _record(run: TrainingRun, ws: Workspace) -> Path:
    (found,) = ws.artifact_root.glob(f"*/{run.id}/artifacts/run.json")
    return found


def _model_files(ws: Workspace, run: TrainingRun) -> Path:
    """The run's model folder, as deploy resolves ``runs:/<run>/model`` (through MLflow)."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(ws.tracking_uri)
    try:
        assert run.model is not None
        return Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=run.model, dst_path=str(ws.root.parent / run.id)
            )
        )
    finally:
        mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace folder with two finished runs and a registered dataset (copied per test)."""
    from PIL import Image, ImageDraw

    base = tmp_path_factory.mktemp("damage")
    images = base / "tiny"
    for c, label in enumerate(("circle", "square")):
        (images / label).mkdir(parents=True)
        for i in range(8):
            image = Image.new("L", (16, 16), 0)
            draw = ImageDraw.Draw(image)
            (draw.ellipse if c == 0 else draw.rectangle)(
                (2 + i % 4, 2, 12 + i % 4, 12), outline=255
            )
            image.save(images / label / f"{i}.png")
    ws = Workspace.local(base / "ws")
    Dataset.from_folder(images).register(ws, name="tiny")
    _fit(ws, "tiny")
    _fit(ws, "tiny")
    return base / "ws"


@pytest.fixture
def ws(trained: Path, tmp_path: Path) -> Workspace:
    shutil.copytree(trained, tmp_path / "ws")
    return Workspace.local(tmp_path / "ws")


def test_one_garbage_run_record_is_skipped_with_a_warning(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = TrainingRun.list(ws)
    _record(bad, ws).write_text('{"id": "' + bad.id + '", "status": 42, "backend": ')
    with caplog.at_level(logging.WARNING):
        listed = TrainingRun.list(ws)
    assert [r.id for r in listed] == [good.id]
    assert bad.id in caplog.text and "edited or damaged" in caplog.text
    with pytest.raises(StoreDamagedError, match=rf"record of run {bad.id}"):
        TrainingRun.get(ws, bad.id)
    assert TrainingRun.get(ws, good.id).status == "Completed"  # deploy and report still work


@pytest.mark.parametrize("name", ["mlflow.db", "catalog.db"])
def test_a_damaged_sqlite_store_names_the_file_and_repair_rebuilds_it(
    ws: Workspace, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(r.id for r in TrainingRun.list(ws))
    damaged = ws.root / name
    damaged.write_bytes(b"this is not a database, it was overwritten by a student" * 50)
    fresh = Workspace.local(ws.root)
    with pytest.raises(StoreDamagedError, match=rf"{name} is damaged.*cloudml-edu repair"):
        TrainingRun.list(fresh) if name == "mlflow.db" else Dataset.load(fresh, "tiny")

    monkeypatch.chdir(ws.root.parent)
    result = CliRunner().invoke(app, ["repair", "--json"], env={"CLOUDML_ROOT": str(ws.root)})
    assert result.exit_code == 0, result.output
    repaired = Workspace.local(ws.root)
    assert sorted(r.id for r in TrainingRun.list(repaired)) == before
    assert all(r.status == "Completed" and r.metrics for r in TrainingRun.list(repaired))
    assert len(Dataset.load(repaired, "tiny")) == 16
    assert list(ws.root.glob(f"{name}.damaged-*"))  # the damaged file is kept
    for run in TrainingRun.list(repaired):  # MLflow 3's logged models are back: models resolve
        assert (_model_files(repaired, run) / "MLmodel").is_file()
    again = repair_workspace(repaired)
    assert (again.catalog_versions, again.runs) == (None, None)  # both fine now: untouched


def test_a_copied_workspace_writes_new_runs_into_its_own_folder(
    ws: Workspace, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(ws.root, copy)
    original = {p for p in ws.artifact_root.rglob("*")}
    mine = Workspace.local(copy)
    run = _fit(mine, Dataset.load(mine, "tiny"))
    assert {p for p in ws.artifact_root.rglob("*")} == original  # nothing new in the original
    assert list(mine.artifact_root.glob(f"*/{run.id}/artifacts/run.json"))
    assert len(TrainingRun.list(mine)) == 3 and len(TrainingRun.list(ws)) == 2


def test_runs_whose_artifacts_are_gone_are_listed_as_such(ws: Workspace) -> None:
    assert len(TrainingRun.list(ws)) == 2  # this copy's own artifacts
    shutil.rmtree(ws.artifact_root)
    runs = TrainingRun.list(Workspace.local(ws.root))
    assert len(runs) == 2
    assert all(r.status == "Failed" and "artifacts" in (r.error or "") for r in runs)
    assert all("are gone from" in (r.error or "") for r in runs)
    with pytest.raises(NotFoundError, match=r"are gone from .*Restore that folder"):
        TrainingRun.get(Workspace.local(ws.root), runs[0].id)


def test_one_unreadable_endpoint_record_is_skipped_with_a_warning(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    from cloudml_edu import Endpoint

    (ws.endpoints_dir / "broken.json").write_text("{not json", encoding="utf-8")
    (ws.endpoints_dir / "Bad Name.json").write_text("{}", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert Endpoint.list(ws) == []
    assert "broken.json" in caplog.text and "Bad Name.json" in caplog.text
