"""mock_azure_ml runs what Azure ML runs: the twin's real metrics, models and predictions.

The job environment's twin is built once per machine (cached by digest under
~/.cache/cloudml-edu/twins; xdist workers share it); each fit then runs the
job's command in it, so these tests take seconds each, not milliseconds.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from cloudml_edu import Dataset, Endpoint, Trainer
from cloudml_edu.environments import EnvironmentSpec
from cloudml_edu.errors import BackendError, ConfigError, DatasetError
from cloudml_edu.metrics import Metrics
from cloudml_edu.report._artifacts import artifact_files
from cloudml_edu.testing.azure_ml.outputs import run_outputs


def _folder(root: Path, *, separable: bool, per_class: int = 12) -> Path:
    """3 classes of 8x8 images: by brightness (separable) or noise with shuffled labels."""
    rng = random.Random(7)
    for label in ("cat", "dog", "fox"):
        (root / label).mkdir(parents=True)
    for c, label in enumerate(("cat", "dog", "fox")):
        for i in range(per_class):
            if separable:
                image = Image.new("L", (8, 8), color=c * 100 + i)
            else:
                image = Image.new("L", (8, 8))
                image.putdata([rng.randrange(256) for _ in range(64)])
            target = rng.choice(("cat", "dog", "fox")) if not separable else label
            image.save(root / target / f"{label}{i}.png")
    return root


@pytest.fixture
def separable(tmp_path: Path) -> Dataset:
    return Dataset.from_folder(_folder(tmp_path / "separable", separable=True), progress=False)


@pytest.fixture
def noise(tmp_path: Path) -> Dataset:
    return Dataset.from_folder(_folder(tmp_path / "noise", separable=False), progress=False)


@pytest.mark.parametrize("backend", ["sdk", "designer"])
def test_metrics_are_what_the_job_computed(mock_azure_ml, separable, noise, backend):
    ws = mock_azure_ml.workspace
    good = Trainer(backend, workspace=ws, image_size=8).fit(separable)
    bad = Trainer(backend, workspace=ws, image_size=8).fit(noise)
    assert good.metrics.accuracy >= 0.9
    assert bad.metrics.accuracy < 0.75  # chance is 1/3
    logged_in = good.remote.details.get("evaluate_job", good.remote.name)
    assert mock_azure_ml.tracking.metrics_of(logged_in)["accuracy"] == good.metrics.accuracy
    # the full schema is the metrics.json the job wrote to its output, read back as Azure
    # keeps it (blobs at the output's default path) and found through run history
    written = mock_azure_ml.blobs[f"azureml-blobstore/azureml/{logged_in}/metrics/metrics.json"]
    assert good.metrics.labels == sorted(separable.classes)
    assert good.metrics == Metrics.model_validate_json(written).model_copy(
        update={"compute": good.metrics.compute, "cost_usd": good.metrics.cost_usd}
    )
    assert good.metrics.confusion_matrix and set(good.metrics.per_class) == set(separable.classes)
    # the job's other files are kept beside the run's record, where the report reads them
    kept = artifact_files(good)
    assert kept is not None
    assert {"metrics.json", "predictions.csv", "features.npz", "misclassified/index.json"} <= set(
        kept
    )
    asked = mock_azure_ml.sent("POST", "/rundata")
    assert {r.body["runId"] for r in asked} == {good.remote.name, bad.remote.name}
    resolved = mock_azure_ml.sent("POST", "/dataversion/batchGetResolvedUris")
    assert any(f"azureml_{good.remote.name}_output_data_metrics" in str(r.body) for r in resolved)
    if backend == "designer":
        assert good.options.model == "Multiclass Decision Forest"  # the local designer's default
        train = mock_azure_ml.jobs[good.remote.name]["properties"]["jobs"]["train"]
        # run history types a step's outputs by its component: the model is an MLflow model
        step_outputs = run_outputs(mock_azure_ml, logged_in)
        assert {k: v["type"] for k, v in step_outputs.items()} == {
            "metrics": "uri_folder",
            "mlflow_model": "MLFlowModel",
        }
        assert train["inputs"]["model_family"]["value"] == "Multiclass Decision Forest"
    else:
        body = mock_azure_ml.jobs[good.remote.name]["properties"]
        assert "pip install" not in body["command"]
        assert "/environments/cloudml-edu-job/versions/" in body["environmentId"]
        assert body["outputs"]["model"]["jobOutputType"] == "mlflow_model"
        assert body["outputs"]["metrics"]["jobOutputType"] == "uri_folder"
        assert "--metrics-out ${{outputs.metrics}}" in body["command"]


def test_deploy_and_predict_answer_with_the_models_labels(mock_azure_ml, separable, tmp_path):
    ws = mock_azure_ml.workspace
    run = Trainer("sdk", workspace=ws, image_size=8).fit(separable)
    assert run.model == f"azureml://jobs/{run.remote.name}/outputs/model"
    endpoint = Endpoint.deploy(run, workspace=ws, name="shapes")
    model = next(v for k, v in mock_azure_ml.resources.items() if k.startswith("models/"))
    assert "python_function" in model["properties"]["flavors"]  # read from the MLmodel
    images = [p for p in sorted(separable.source.local_folder().rglob("*.png"))][::5]
    predicted = endpoint.predict(images)
    assert [p.label for p in predicted] == [p.parent.name for p in images]
    # bytes go as given: the served model in its twin refuses them with the same typed error
    # as a local endpoint's (tests/test_endpoint.py); a bad file is refused before sending
    with pytest.raises(
        ConfigError,
        match=r"rejected the request \(HTTP 400: ValueError: an input is not a readable image",
    ):
        endpoint.predict(b"these bytes are not an image")
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    sent = len(mock_azure_ml.requests)
    with pytest.raises(DatasetError, match=r"not-an-image\.png is not a usable image"):
        endpoint.predict(bad)
    assert len(mock_azure_ml.requests) == sent


def test_a_model_without_mlmodel_is_refused(mock_azure_ml, separable):
    from cloudml_edu.errors import CloudMLError

    run = Trainer("sdk", workspace=mock_azure_ml.workspace, image_size=8).fit(separable)
    run.model = f"azureml://jobs/{run.remote.name}/outputs/nothing"
    with pytest.raises(CloudMLError, match="No MLmodel file"):
        Endpoint.deploy(run, workspace=mock_azure_ml.workspace, name="shapes")


def test_code_that_fails_on_the_environments_python_fails_the_fit(mock_azure_ml, separable):
    py310 = EnvironmentSpec(name="py310", python="3.10", pins=("pydantic==2.14.4",))
    mock_azure_ml.settings["environment"] = mock_azure_ml.add_environment("py310", "1", py310)
    with pytest.raises(BackendError, match="Traceback") as caught:
        Trainer("sdk", workspace=mock_azure_ml.workspace, image_size=8).fit(separable)
    assert "ImportError" in str(caught.value) or "ModuleNotFoundError" in str(caught.value)
