"""The usability profiles' snippets run: CI executes them, so their line counts describe code
that works (the Databricks-only calls are stood in by local equivalents, said below)."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cloudml_edu.report.profiles import PROFILES


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """3 classes, 10 images each, PNG and JPEG mixed, one class folder one level deeper."""
    root = tmp_path / "images"
    for k, label in enumerate(("cat", "dog", "fox")):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(10):
            image = Image.new("L", (20, 20), 30 * k)
            image.putpixel((i, (i * (k + 2)) % 20), 255)
            image.save(folder / f"{i}.{'jpg' if i % 2 else 'png'}")
    return root


def test_the_sdk_training_script_runs_on_every_image_type(images: Path, tmp_path: Path) -> None:
    code = PROFILES["sdk"].user_code
    cut = code.index("# submit.py")
    train, submit = code[:cut], code[cut:]
    script = tmp_path / "train.py"
    script.write_text(train, encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    done = subprocess.run(
        [sys.executable, str(script), "--data", str(images)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-600:]
    from mlflow.tracking import MlflowClient

    [run] = MlflowClient(store).search_runs(["0"])
    assert run.data.metrics["accuracy"] > 0.5 and run.info.status == "FINISHED"
    compile(submit, "submit.py", "exec")  # the submission needs a real workspace: compiled only


def test_the_databricks_cell_featurizes_every_image_into_numeric_columns(
    images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    classified: dict[str, Any] = {}

    def classify(df: pd.DataFrame, **options: Any) -> Any:  # Databricks-only: stood in
        classified.update(df=df, **options)
        return types.SimpleNamespace(best_trial=types.SimpleNamespace(model_path="dbfs:/m"))

    automl = types.ModuleType("databricks.automl")
    automl.classify = classify  # type: ignore[attr-defined]
    package = types.ModuleType("databricks")
    package.automl = automl  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "databricks", package)
    monkeypatch.setitem(sys.modules, "databricks.automl", automl)
    spark = types.SimpleNamespace(createDataFrame=lambda frame: frame)  # local: pandas as is
    cell = PROFILES["automl"].user_code.replace("/Volumes/main/default/digits", str(images))
    exec(compile(cell, "cell.py", "exec"), {"spark": spark})
    frame = classified["df"]
    assert len(frame) == 30 and sorted(frame["label"].unique()) == ["cat", "dog", "fox"]
    assert frame.drop(columns="label").dtypes.map(lambda t: t.kind == "f").all()
    assert classified["target_col"] == "label"


def test_counts_come_from_the_snippets() -> None:
    assert PROFILES["designer"].user_code_lines == 0
    assert PROFILES["sdk"].user_code_lines > PROFILES["automl"].user_code_lines > 5
    assert all(p.setup_steps >= 3 and p.deployment_steps >= 2 for p in PROFILES.values())
