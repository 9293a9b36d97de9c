"""The azureml endpoint provider through the fake: bodies sent, stages, key on use, failures."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cloudml_edu import Dataset, Endpoint, Trainer
from cloudml_edu.errors import QuotaError, ServiceError
from cloudml_edu.testing.azure_ml import ENDPOINT_KEY


@pytest.fixture
def run(mock_azure_ml, images):
    return Trainer("sdk", workspace=mock_azure_ml.workspace).fit(
        Dataset.from_folder(images, progress=False)
    )


def _put(fake, path_end: str):
    (found,) = [r for r in fake.sent("PUT") if r.path.endswith(path_end)][-1:]
    return found.body


def test_deploy_sends_model_endpoint_deployment_and_traffic(mock_azure_ml, run):
    ws = mock_azure_ml.workspace
    mock_azure_ml.script_deployment(["Creating", "Creating", "Succeeded"])
    endpoint = Endpoint.deploy(run, workspace=ws, name="digits")

    model = _put(mock_azure_ml, "/models/student-digits-5231ea/versions/1")["properties"]
    assert model["modelType"] == "mlflow_model"
    assert model["modelUri"].endswith(f"/jobs/{run.remote.name}/outputs/model")
    assert model["tags"]["cloudml.owner"] == "student" and model["tags"]["cloudml.run"] == run.id
    puts = [
        r
        for r in mock_azure_ml.sent("PUT")
        if r.path.endswith("/onlineEndpoints/student-digits-5231ea")
    ]
    created, traffic = puts[0].body, puts[-1].body
    assert created["properties"]["authMode"] == "Key"
    assert created["tags"]["cloudml.owner"] == "student"
    assert traffic["properties"]["traffic"] == {"blue": 100}
    deployment = _put(mock_azure_ml, "/deployments/blue")
    props = deployment["properties"]
    assert props["endpointComputeType"] == "Managed"
    assert props["instanceType"] == "Standard_DS3_v2"
    assert props["model"].endswith("/models/student-digits-5231ea/versions/1")
    assert "environmentId" not in props and "codeConfiguration" not in props  # MLflow no-code
    assert deployment["sku"]["capacity"] == 1

    assert endpoint.target == "azureml" and endpoint.state == "live"
    assert endpoint.url == "https://student-digits-5231ea.eastus.inference.ml.azure.com/score"
    assert endpoint.record.hourly_usd == 0.293
    assert endpoint.record.details["endpoint"] == "student-digits-5231ea"
    saved = (ws.endpoints_dir / "digits.json").read_text()
    assert ENDPOINT_KEY not in saved and "key" not in json.loads(saved)["details"]


def test_predict_sends_input_data_with_the_key_fetched_on_use(mock_azure_ml, run, images):
    endpoint = Endpoint.deploy(run, workspace=mock_azure_ml.workspace, name="digits")
    assert mock_azure_ml.sent("POST", "/listKeys") == []  # not fetched to deploy
    mock_azure_ml.predictions = lambda body: [
        {"label": "cat", "score": 0.8, "p:cat": 0.8, "p:dog": 0.2}
        for _ in body["input_data"]["data"]
    ]
    first = endpoint.predict([images / "cat" / "0.png", images / "dog" / "1.png"])
    endpoint.predict(images / "fox" / "2.png")

    assert [p.label for p in first] == ["cat", "cat"] and first[0].scores["dog"] == 0.2
    scoring = [r for r in mock_azure_ml.requests if ".inference.ml.azure.com" in r.url]
    body = scoring[0].body["input_data"]
    assert body["columns"] == ["image"] and body["index"] == [0, 1]
    import base64

    assert base64.b64decode(body["data"][0][0]) == (images / "cat" / "0.png").read_bytes()
    assert scoring[0].headers["Authorization"] == f"Bearer {ENDPOINT_KEY}"
    assert scoring[0].headers["azureml-model-deployment"] == "blue"
    assert len(mock_azure_ml.sent("POST", "/listKeys")) == 1  # once per provider, in memory


def test_a_failed_deployment_is_deleted_with_its_log(mock_azure_ml, run):
    ws = mock_azure_ml.workspace
    mock_azure_ml.script_deployment(
        ["Creating", "Failed"], logs="ModuleNotFoundError: No module named 'pydantic'"
    )
    with pytest.raises(ServiceError, match="No module named 'pydantic'") as caught:
        Endpoint.deploy(run, workspace=ws, name="digits")
    assert "instance_type" in str(caught.value)
    assert mock_azure_ml.endpoints == {}  # nothing left billing
    assert mock_azure_ml.sent("DELETE", "/onlineEndpoints/student-digits-5231ea")
    assert Endpoint.list(ws) == []


def test_no_quota_for_the_endpoint_is_a_quota_error_and_nothing_is_left(mock_azure_ml, run):
    mock_azure_ml.fail(
        "PUT", "/onlineEndpoints/", 400, code="QuotaExceeded", message="Not enough quota"
    )
    with pytest.raises(QuotaError, match="cleanup"):
        Endpoint.deploy(run, workspace=mock_azure_ml.workspace, name="digits")
    assert mock_azure_ml.endpoints == {}
    assert mock_azure_ml.sent("DELETE", "/onlineEndpoints/student-digits-5231ea")


def test_delete_and_state(mock_azure_ml, run):
    endpoint = Endpoint.deploy(run, workspace=mock_azure_ml.workspace, name="digits")
    endpoint.delete()
    assert mock_azure_ml.endpoints == {}
    assert endpoint._provider_for().state(endpoint.record) == "dead"
    endpoint.delete()  # already gone: fine


def test_endpoint_list_shows_target_age_and_price(mock_azure_ml, run, monkeypatch):
    import cloudml_edu.cli.endpoint as endpoint_cli
    from cloudml_edu.cli import app

    Endpoint.deploy(run, workspace=mock_azure_ml.workspace, name="digits")
    monkeypatch.setattr(endpoint_cli, "workspace_from_option", lambda c: mock_azure_ml.workspace)
    monkeypatch.setenv("COLUMNS", "250")
    done = CliRunner().invoke(app, ["endpoint", "list"])
    assert done.exit_code == 0, done.output
    row = next(line for line in done.output.splitlines() if "digits" in line)
    assert "azureml" in row and "live" in row and " s " in row and "0.293" in row
    assert "$0.29/hour" in done.output


def test_the_fake_outlives_no_background_poller_of_the_sdk(mock_azure_ml):
    """azure-ai-ml polls a deploy in LROPoller threads every 5 s; when the fake stops they must
    have ended, or their next GET lands in the next test's fake (and is counted there)."""
    import threading

    from cloudml_edu.backends.azureml import entities
    from cloudml_edu.backends.azureml.connection import client_for

    ws = mock_azure_ml.workspace
    mock_azure_ml.script_deployment(["Creating", "Succeeded"])  # not done: the SDK polls it
    client = client_for(ws)
    client.online_endpoints.begin_create_or_update(entities.endpoint_entity(ws, "x-digits"))
    deployment = entities.deployment_entity(ws, endpoint="x-digits", model="azureml:x-digits:1")
    client.online_deployments.begin_create_or_update(deployment)
    assert any(t.name.startswith("LROPoller") for t in threading.enumerate())
    mock_azure_ml.stop()
    alive = [t.name for t in threading.enumerate() if t.name.startswith("LROPoller")]
    assert alive == []


def test_endpoint_names_do_not_collide_across_a_class(mock_azure_ml):
    """Names are unique per Azure region: each student's carries a hash of owner and workspace."""
    from cloudml_edu.backends.azureml.entities import endpoint_name
    from cloudml_edu.testing.azure_ml import FakeAzureML

    ours = endpoint_name(mock_azure_ml.workspace, "digits")
    assert ours == "student-digits-5231ea" and len(ours) <= 32
    other = FakeAzureML(root=mock_azure_ml.root / "bob", owner="bob").workspace
    assert endpoint_name(other, "digits").startswith("bob-digits-")
    assert endpoint_name(other, "digits")[-6:] != ours[-6:]


def test_a_name_taken_in_the_region_is_refused_like_azure(mock_azure_ml, run):
    from cloudml_edu.backends.azureml.entities import endpoint_name
    from cloudml_edu.errors import CloudMLError

    mock_azure_ml.region_endpoint_names.add(endpoint_name(mock_azure_ml.workspace, "digits"))
    with pytest.raises(CloudMLError, match="unique within a region"):
        Endpoint.deploy(run, workspace=mock_azure_ml.workspace, name="digits")


def test_an_endpoint_needs_its_vcpus_plus_the_20_percent_reserve(mock_azure_ml, run):
    mock_azure_ml.quota["standardDSv2Family"] = 6  # a DS3_v2 (4 vCPUs) x1 reserves 2 x 4 = 8
    with pytest.raises(QuotaError, match="Additional needed: 8"):
        Endpoint.deploy(run, workspace=mock_azure_ml.workspace, name="digits")
    assert mock_azure_ml.endpoints == {}
