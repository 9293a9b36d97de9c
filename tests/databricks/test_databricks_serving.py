"""Model Serving through the fake workspace: the registered model, built and loaded in a clean twin
of its own requirements, answers with its real predictions."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from cloudml_edu.backends.databricks import cleanup
from cloudml_edu.backends.databricks.endpoint import DatabricksEndpointProvider
from cloudml_edu.errors import BackendError, ConfigError, NotFoundError
from cloudml_edu.records.endpoint import EndpointRecord
from cloudml_edu.testing.databricks import FakeDatabricks

#: A deploy that reaches READY builds the model's twin once per machine (about a minute cold).
BUILD = 900


def _deploy(provider: DatabricksEndpointProvider, model_uri: str) -> EndpointRecord:
    """Deploy ``model_uri`` as endpoint ``shapes`` and wait (the served model's twin may build)."""
    return provider.begin_deploy(
        name="shapes", model_uri=model_uri, run=None, progress=False
    ).result(timeout=BUILD)


def test_deploy_creates_a_scale_to_zero_endpoint_and_waits_until_ready(
    mock_databricks: FakeDatabricks, registered: str
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    mock_databricks.script_endpoint(not_ready_polls=2)
    record = _deploy(provider, registered)
    assert record.details["state"] == "live" and record.target == "databricks"
    (create,) = mock_databricks.sent("POST", "/api/2.0/serving-endpoints")
    assert create.body == {
        "name": "shapes",
        "config": {
            "name": "shapes",
            "served_entities": [
                {
                    "name": "main_cloudml_tester_shapes-1",
                    "entity_name": "main.cloudml_tester.shapes",
                    "entity_version": "1",
                    "workload_size": "Small",
                    "scale_to_zero_enabled": True,
                }
            ],
        },
        "tags": [{"key": "cloudml-owner", "value": "tester"}],
    }
    gets = mock_databricks.sent("GET", "/api/2.0/serving-endpoints/shapes")
    assert len(gets) == 1 + 3  # the existence check, then two NOT_READY and one READY
    assert provider.state(record) == "live"


def test_a_model_version_that_does_not_exist_is_refused(
    mock_databricks: FakeDatabricks,
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    with pytest.raises(NotFoundError, match=r"main\.cloudml_tester\.nope/1 does not exist"):
        provider.begin_deploy(
            name="shapes", model_uri="models:/main.cloudml_tester.nope/1", run=None, progress=False
        )


def test_deploy_updates_the_config_when_the_endpoint_exists(
    mock_databricks: FakeDatabricks, registered: str
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    _deploy(provider, registered)
    record = _deploy(provider, registered)
    assert record.details["updated"] is True
    assert len(mock_databricks.sent("POST", "/api/2.0/serving-endpoints")) == 1
    (put,) = mock_databricks.sent("PUT", "/api/2.0/serving-endpoints/shapes/config")
    assert put.body["served_entities"][0]["entity_version"] == "1"


def test_the_served_model_answers_with_its_own_predictions(
    mock_databricks: FakeDatabricks, registered: str, tiny_dir: Path
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    record = _deploy(provider, registered)
    files = [tiny_dir / label / "1.png" for label in ("circle", "square", "cross")]
    images = [base64.b64encode(p.read_bytes()).decode() for p in files]
    answer = provider.invoke(record, images, timeout=120)
    (call,) = mock_databricks.sent("POST", "/serving-endpoints/shapes/invocations")
    assert call.body == {"dataframe_split": {"columns": ["image"], "data": [[i] for i in images]}}
    assert call.headers["Authorization"] == f"Bearer {mock_databricks.token}"
    rows = answer["predictions"]
    assert [row["label"] for row in rows] == ["circle", "square", "cross"]
    for row in rows:
        probabilities = [row[f"p:{c}"] for c in ("circle", "square", "cross")]
        assert sum(probabilities) == pytest.approx(1.0)
        assert row["score"] == pytest.approx(max(probabilities))
    with pytest.raises(ConfigError, match="row 0: not valid base64"):  # the model's own check
        provider.invoke(record, ["%%%"], timeout=120)


def test_the_model_loads_without_cloudml_edu(
    mock_databricks: FakeDatabricks, registered: str
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    _deploy(provider, registered)
    twin, model_dir = mock_databricks.serving.twins["shapes"]
    done = twin.run(["python", "-I", "-c", "import cloudml_edu"], cwd=model_dir)
    assert done.returncode != 0 and "No module named 'cloudml_edu'" in done.stderr
    requirements = (model_dir / "requirements.txt").read_text()
    assert "databricks-automl-runtime==0.2.21" in requirements  # the best trial's own
    assert "mlflow==2.13.1" in requirements and "cloudml" not in requirements


def test_delete_succeeds_when_already_gone(
    mock_databricks: FakeDatabricks, registered: str
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    record = _deploy(provider, registered)
    provider.delete(record, timeout=5)
    provider.delete(record, timeout=5)
    assert len(mock_databricks.sent("DELETE", "/api/2.0/serving-endpoints/shapes")) == 2
    assert provider.state(record) == "dead"
    with pytest.raises(NotFoundError):
        provider.invoke(record, ["aGVsbG8="], timeout=5)


def test_failed_update_and_bad_model_uri(mock_databricks: FakeDatabricks, registered: str) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    mock_databricks.script_endpoint(failure="image build failed")
    poller = provider.begin_deploy(name="shapes", model_uri=registered, run=None, progress=False)
    with pytest.raises(BackendError, match="failed to deploy"):
        poller.result(timeout=5)
    with pytest.raises(ConfigError, match="registered in the workspace"):
        provider.begin_deploy(name="x", model_uri="runs:/abc/model", run=None, progress=False)


def test_cleanup_deletes_only_the_owners_endpoints(
    mock_databricks: FakeDatabricks, registered: str
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    mock_databricks.script_endpoint(not_ready_polls=100)  # never reaches READY: no build needed
    provider.begin_deploy(name="mine", model_uri=registered, run=None, progress=False)
    mock_databricks.endpoints["theirs"] = {
        "config": {},
        "tags": [{"key": "cloudml-owner", "value": "ana"}],
    }
    ws = mock_databricks.workspace
    found = cleanup.billable(ws)
    assert [(b.target, b.kind, b.name) for b in found] == [("databricks", "endpoint", "mine")]
    for item in found:
        cleanup.remove(ws, item, timeout=5)
    assert sorted(mock_databricks.endpoints) == ["theirs"]
    deletes = [r for r in mock_databricks.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == ["/api/2.0/serving-endpoints/mine"]


def test_endpoint_facade_deploys_a_registered_model_and_predicts(
    mock_databricks: FakeDatabricks, registered: str, tiny_dir: Path
) -> None:
    from cloudml_edu import Endpoint

    ws = mock_databricks.workspace
    ep = Endpoint.deploy(
        registered, workspace=ws, name="shapes-ep", target="databricks", timeout=BUILD
    )
    (create,) = mock_databricks.sent("POST", "/api/2.0/serving-endpoints")
    assert (
        create.body["config"]["served_entities"][0]["entity_name"] == "main.cloudml_tester.shapes"
    )
    predictions = ep.predict([tiny_dir / "circle" / "0.png", tiny_dir / "cross" / "2.png"])
    assert [p.label for p in predictions] == ["circle", "cross"]
    assert set(predictions[0].scores) == {"circle", "square", "cross"}
    (call,) = mock_databricks.sent("POST", "/serving-endpoints/shapes-ep/invocations")
    assert list(call.body) == ["dataframe_split"]
    assert Endpoint.get(ws, "shapes-ep").record.target == "databricks"
    ep.delete()
    assert "shapes-ep" not in mock_databricks.endpoints
