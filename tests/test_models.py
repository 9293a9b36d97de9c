"""Model choices: Designer modules for designer, scikit-learn families, checks before any write."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from cloudml_edu import ConfigError, Dataset, DatasetError, Trainer, TrainingRun, Workspace
from cloudml_edu.training.models import (
    DESIGNER_ALGORITHMS,
    build_model,
    canonical_model,
    default_model,
)


def test_each_designer_module_maps_to_its_scikit_learn_model_with_designer_defaults() -> None:
    expected = {
        "Multiclass Decision Forest": ("RandomForestClassifier", {"n_estimators": 8}),
        "Multiclass Logistic Regression": ("LogisticRegression", {"C": 1.0}),
        "Multiclass Neural Network": ("MLPClassifier", {"hidden_layer_sizes": (100,)}),
        "Multiclass Boosted Decision Tree": (
            "HistGradientBoostingClassifier",
            {"max_leaf_nodes": 20, "learning_rate": 0.2},
        ),
    }
    assert set(expected) == set(DESIGNER_ALGORITHMS)
    for name, (estimator, settings) in expected.items():
        model = build_model(name, {})[-1]
        assert type(model).__name__ == estimator
        assert {k: model.get_params()[k] for k in settings} == settings
    tuned = build_model("Multiclass Decision Forest", {"n_estimators": 50})[-1]
    assert tuned.get_params()["n_estimators"] == 50 and tuned.get_params()["max_depth"] == 32


def test_names_are_forgiving_and_defaults_differ_by_backend() -> None:
    assert canonical_model("multiclass-decision-forest") == "Multiclass Decision Forest"
    assert canonical_model("Multiclass_Neural_Network") == "Multiclass Neural Network"
    assert canonical_model("SVC") == "svc"
    assert default_model("designer") == "Multiclass Decision Forest"
    assert default_model("sdk") == default_model("automl") == "svc"


def _folder(root: Path, per_class: dict[str, int]) -> Path:
    for label, n in per_class.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            shade = (i * 37 + len(label) * 50) % 256
            Image.new("L", (8, 8), shade).save(root / label / f"{i}.png")
    return root


def _nothing_written(ws: Workspace) -> None:
    assert TrainingRun.list(ws) == []
    assert not any(ws.runs_dir.iterdir())


def test_an_unknown_model_fails_before_anything_is_written(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'xgboost'.*Multiclass Decision Forest"):
        Trainer("sdk", workspace=workspace, model="xgboost")
    with pytest.raises(ConfigError, match="unknown families"):
        Trainer("automl", workspace=workspace, families=["xgboost"])


@pytest.mark.parametrize("backend", ["designer", "sdk", "automl"])
def test_too_few_images_per_class_fail_up_front_naming_the_class(
    workspace: Workspace, tmp_path: Path, backend: str
) -> None:
    data = Dataset.from_folder(_folder(tmp_path / "few", {"cat": 12, "dog": 5}))
    trainer = Trainer(backend, workspace=workspace, max_trials=1)
    for attempt in (trainer.plan, trainer.fit):
        with pytest.raises(DatasetError, match=r"dog \(5 images: 4 to train, 1 to test\)") as e:
            attempt(data)
        assert "at least 5 images to train on and 1 to test on" in str(e.value)
        assert "7 images a class are always enough with test_size 0.2" in str(e.value)
        assert e.value.bad_files == ["dog"]
    _nothing_written(workspace)
