"""``cloudml-edu init --cloud ...``: a commented config with the sign-in, placeholders named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudml_edu.cli import app
from cloudml_edu.config import load_config
from cloudml_edu.config_templates import CLOUDS, placeholders, template


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_template_loads_and_names_its_placeholders(cloud: str, tmp_path: Path) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_text(template(cloud), encoding="utf-8")
    config = load_config(path, environ={})
    left = placeholders(config)
    assert left and all(key.startswith(("azure_ml.", "databricks.", "storage.")) for key in left)


def test_the_databricks_template_says_az_login_is_not_enough() -> None:
    text = template("databricks")
    assert "`az login` alone is NOT enough for Databricks" in text
    assert "DATABRICKS_TOKEN" in text and 'auth_type = "azure-cli"' in text
    assert "az login" in template("azureml")


def test_init_writes_once_and_plans_say_placeholders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["init", "--cloud", "AzureML", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["placeholders"] == [
        "azure_ml.subscription_id",
        "azure_ml.resource_group",
        "azure_ml.workspace_name",
    ]
    again = runner.invoke(app, ["init", "--cloud", "azureml"])
    assert again.exit_code == 1 and "--force" in again.stderr
    unknown = runner.invoke(app, ["init", "--cloud", "gcp"])
    assert unknown.exit_code == 1 and "--cloud azureml or --cloud databricks" in unknown.stderr
    refused = runner.invoke(app, ["train", str(tmp_path / "nope"), "-b", "sdk"])
    assert refused.exit_code == 1
    assert "placeholders (azure_ml.subscription_id" in str(refused.exception)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_plan_can_be_made_without_a_config(cloud: str, tmp_path: Path) -> None:
    from cloudml_edu import Dataset, Trainer, Workspace
    from cloudml_edu.config import CloudMLConfig
    from cloudml_edu.config_templates import with_placeholders

    config = with_placeholders(CloudMLConfig(root=tmp_path / "ws"), cloud)
    assert placeholders(config) and with_placeholders(config, cloud) is config
    images = tmp_path / "images"
    for label in ("a", "b"):
        (images / label).mkdir(parents=True)
        for i in range(8):
            from PIL import Image

            Image.new("L", (8, 8), 40 * i if label == "a" else 255 - 20 * i).save(
                images / label / f"{i}.png"
            )
    backend = "sdk" if cloud == "azureml" else "automl"
    plan = Trainer(backend, workspace=Workspace(config), progress=False).plan(
        Dataset.from_folder(images, progress=False)
    )
    assert plan.target == cloud and plan.estimated_cost_usd > 0


def test_train_plan_with_a_target_needs_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    for label in ("a", "b"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(8):
            Image.new("RGB", (8, 8), (30 * i, 0, 200) if label == "a" else (200, 20 * i, 0)).save(
                tmp_path / "images" / label / f"{i}.png"
            )
    args = ["train", "images", "-b", "sdk", "--plan", "--target", "azureml", "--json"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    plan = json.loads(done.stdout)
    assert plan["target"] == "azureml" and plan["estimated_cost_usd"] > 0
    assert "planned with placeholder settings (azure_ml.subscription_id" in done.stderr


@pytest.mark.parametrize("cloud", CLOUDS)
def test_doctor_after_init_names_each_placeholder_and_sends_nothing(
    cloud: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--cloud", cloud]).exit_code == 0
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("doctor opened a connection while settings were placeholders")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    done = runner.invoke(app, ["doctor", "--json"])
    assert done.exit_code == 1, done.output
    checks = json.loads(done.stdout)["checks"]
    assert checks and all(c["name"] == "settings" and c["status"] == "fail" for c in checks)
    assert any("is still a placeholder" in c["detail"] for c in checks)
