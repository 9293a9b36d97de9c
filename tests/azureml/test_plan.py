"""``plan()`` sends nothing; ``Plan.write`` writes CLI v2 YAML that azure-ai-ml's loaders accept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudml_edu import Dataset, Trainer
from cloudml_edu.errors import ConfigError
from cloudml_edu.run import Plan, PlanStep

STEPS = ("prepare", "split", "featurize", "train", "score", "evaluate")


@pytest.fixture
def ds(images):
    return Dataset.from_folder(images, progress=False)


def _load(folder: Path):
    from azure.ai.ml import load_job, load_online_deployment, load_online_endpoint

    return (
        load_job(folder / "job.yml"),
        load_online_endpoint(folder / "endpoint.yml"),
        load_online_deployment(folder / "deployment.yml"),
    )


def test_sdk_plan_writes_a_command_job_the_cli_can_load(with_cluster, mock_azure_ml, ds, tmp_path):
    from azure.ai.ml import load_compute, load_data

    plan = Trainer("sdk", workspace=mock_azure_ml.workspace, image_size=8).plan(ds)
    written = plan.write(tmp_path / "plan")
    assert mock_azure_ml.requests == []  # planning and writing are offline

    assert sorted(p.name for p in written) == [
        "compute.yml",
        "data.yml",
        "deployment.yml",
        "endpoint.yml",
        "job.yml",
        "plan.json",
    ]
    job, endpoint, deployment = _load(tmp_path / "plan")
    assert job.type == "command"
    assert "python -m cloudml_edu.training --data ${{inputs.data}}" in job.command
    assert "--image-size 8" in job.command
    assert job.compute == "cpu-cluster"
    assert job.inputs["data"].path.startswith("student-images:1-")  # the loader drops azureml:
    from cloudml_edu.backends.azureml.environment import JOB_ENVIRONMENT

    assert job.environment == f"{JOB_ENVIRONMENT.name}:{JOB_ENVIRONMENT.version}"
    assert Path(job.code).is_dir() and (Path(job.code) / "cloudml_edu" / "training").is_dir()
    assert job.tags["cloudml.owner"] == "student"
    assert endpoint.name == "student-images-5231ea" and endpoint.auth_mode == "key"
    assert endpoint.tags["cloudml.owner"] == "student"
    assert deployment.name == "blue" and deployment.endpoint_name == "student-images-5231ea"
    assert deployment.instance_type == "Standard_DS3_v2" and deployment.instance_count == 1
    assert str(deployment.model).startswith("student-images-5231ea@latest")
    data = load_data(tmp_path / "plan" / "data.yml")
    staged = Path(str(data.path))  # the copy holding only the manifest's records, not images/
    assert data.type == "uri_folder" and staged.parent.parent.name == "data"
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()) == [
        "_manifest.json",
        *sorted(f"files/{r.path}" for r in ds.manifest.records),
    ]
    compute = load_compute(tmp_path / "plan" / "compute.yml")
    assert (compute.name, compute.min_instances) == ("cpu-cluster", 0)

    header = (tmp_path / "plan" / "job.yml").read_text().splitlines()[:8]
    assert any(f"estimated ${plan.estimated_cost_usd:.2f}" in line for line in header)
    assert any("2026-" in line and "Standard_DS3_v2" in line for line in header)
    assert any("az ml job create -f job.yml" in line for line in header)
    saved = json.loads((tmp_path / "plan" / "plan.json").read_text())
    assert saved["estimated_cost_usd"] == plan.estimated_cost_usd > 0
    assert "files" not in saved


def test_designer_plan_writes_the_pipeline_and_its_six_components(
    with_cluster, mock_azure_ml, ds, tmp_path
):
    from azure.ai.ml import load_component

    plan = Trainer("designer", workspace=mock_azure_ml.workspace).plan(ds)
    plan.write(tmp_path)
    assert mock_azure_ml.requests == []

    job, endpoint, deployment = _load(tmp_path)
    assert job.type == "pipeline"
    assert list(job.jobs) == list(STEPS)
    assert job.settings.default_compute == "cpu-cluster"
    assert job.jobs["split"].inputs["manifest"].path == "${{parent.jobs.prepare.outputs.manifest}}"
    for step in STEPS:
        component = load_component(tmp_path / "components" / f"{step}.yml")
        assert component.name == f"cloudml_edu_{step}"
        assert component.version == plan.steps[3].action.split(":")[1].split(" ")[0]
        assert Path(component.code).is_dir()
    assert endpoint.auth_mode == "key" and deployment.name == "blue"


def test_serverless_plan_has_no_compute_file(mock_azure_ml, ds, tmp_path):
    from azure.ai.ml import load_job

    from cloudml_edu import Workspace

    config = mock_azure_ml.workspace.config
    serverless = config.azure_ml.model_copy(update={"serverless": True})
    ws = Workspace(config.model_copy(update={"azure_ml": serverless}))
    Trainer("sdk", workspace=ws).plan(ds).write(tmp_path)
    assert not (tmp_path / "compute.yml").exists()
    assert load_job(tmp_path / "job.yml").compute is None


def test_write_checks_the_folder_first_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    plan = Plan(
        backend="sdk",
        target="azureml",
        dataset="d",
        steps=[PlanStep(name="job", action="submit")],
        files={"job.yml": "type: command\n", "components/a.yml": "name: a\n"},
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="a-file"):
        plan.write(blocker)

    original = Path.write_text
    calls = {"n": 0}

    def full_disk(self: Path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(ConfigError, match="no space left"):
        plan.write(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # neither a file nor the staging folder
    monkeypatch.undo()

    with pytest.raises(ConfigError, match="relative path"):
        plan.model_copy(update={"files": {"../x.yml": ""}}).write(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_cli_train_plan_out_writes_the_files(mock_azure_ml, images, tmp_path, monkeypatch):
    from cloudml_edu.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cloudml.toml").write_text(
        'owner = "student"\nroot = "ws"\n[azure_ml]\nsubscription_id = "s"\n'
        'resource_group = "rg"\nworkspace_name = "w"\n'
    )
    done = CliRunner().invoke(
        app, ["train", str(images), "--backend", "designer", "--plan", "--out", "yaml"]
    )
    assert done.exit_code == 0, done.output
    assert "wrote " in done.output
    assert (tmp_path / "yaml" / "components" / "evaluate.yml").is_file()
    assert mock_azure_ml.requests == []
    refused = CliRunner().invoke(app, ["train", str(images), "--out", "yaml"])
    assert refused.exit_code != 0 and "add --plan" in str(refused.exception)
