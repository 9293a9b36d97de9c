"""Model Serving through the fake workspace: create or update, wait until READY, invoke, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudml_edu.backends.databricks import cleanup
from cloudml_edu.backends.databricks.endpoint import DatabricksEndpointProvider
from cloudml_edu.errors import BackendError, ConfigError, NotFoundError
from cloudml_edu.testing.databricks import FakeDatabricks

MODEL = "models:/cloudml_tester_shapes/3"


def test_deploy_creates_a_scale_to_zero_endpoint_and_waits_until_ready(
    mock_databricks: FakeDatabricks,
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    mock_databricks.script_endpoint(not_ready_polls=2)
    record = provider.begin_deploy(name="shapes", model_uri=MODEL, run=None, progress=False).result(
        timeout=5
    )
    assert record.details["state"] == "live" and record.target == "databricks"
    (create,) = mock_databricks.sent("POST", r"/api/2\.0/serving-endpoints")
    assert create.body == {
        "name": "shapes",
        "config": {
            "name": "shapes",
            "served_entities": [
                {
                    "name": "cloudml_tester_shapes-3",
                    "entity_name": "cloudml_tester_shapes",
                    "entity_version": "3",
                    "workload_size": "Small",
                    "scale_to_zero_enabled": True,
                }
            ],
        },
        "tags": [{"key": "cloudml-owner", "value": "tester"}],
    }
    gets = mock_databricks.sent("GET", r"/api/2\.0/serving-endpoints/shapes")
    assert len(gets) == 1 + 3  # the existence check, then two NOT_READY and one READY
    assert provider.state(record) == "live"


def test_deploy_updates_the_config_when_the_endpoint_exists(
    mock_databricks: FakeDatabricks,
) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    provider.begin_deploy(name="shapes", model_uri=MODEL, run=None, progress=False).result(
        timeout=5
    )
    newer = "models:/cloudml_tester_shapes/4"
    record = provider.begin_deploy(name="shapes", model_uri=newer, run=None, progress=False).result(
        timeout=5
    )
    assert record.details["updated"] is True
    assert len(mock_databricks.sent("POST", r"/api/2\.0/serving-endpoints")) == 1
    (put,) = mock_databricks.sent("PUT", r"/api/2\.0/serving-endpoints/shapes/config")
    assert put.body["served_entities"][0]["entity_version"] == "4"


def test_invoke_sends_dataframe_split_with_the_token(mock_databricks: FakeDatabricks) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    record = provider.begin_deploy(name="shapes", model_uri=MODEL, run=None, progress=False).result(
        timeout=5
    )
    answer = provider.invoke(record, ["aGVsbG8=", "d29ybGQ="], timeout=5)
    (call,) = mock_databricks.sent("POST", r"/serving-endpoints/shapes/invocations")
    assert call.body == {
        "dataframe_split": {"columns": ["image"], "data": [["aGVsbG8="], ["d29ybGQ="]]}
    }
    assert call.authorization == f"Bearer {mock_databricks.token}"
    assert [row["label"] for row in answer["predictions"]] == ["0", "0"]


def test_delete_succeeds_when_already_gone(mock_databricks: FakeDatabricks) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    record = provider.begin_deploy(name="shapes", model_uri=MODEL, run=None, progress=False).result(
        timeout=5
    )
    provider.delete(record, timeout=5)
    provider.delete(record, timeout=5)
    assert len(mock_databricks.sent("DELETE", r"/api/2\.0/serving-endpoints/shapes")) == 2
    assert provider.state(record) == "dead"
    with pytest.raises(NotFoundError):
        provider.invoke(record, ["aGVsbG8="], timeout=5)


def test_failed_update_and_bad_model_uri(mock_databricks: FakeDatabricks) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    mock_databricks.script_endpoint(failure="image build failed")
    poller = provider.begin_deploy(name="shapes", model_uri=MODEL, run=None, progress=False)
    with pytest.raises(BackendError, match="failed to deploy"):
        poller.result(timeout=5)
    with pytest.raises(ConfigError, match="registered in the workspace"):
        provider.begin_deploy(name="x", model_uri="runs:/abc/model", run=None, progress=False)


def test_cleanup_deletes_only_the_owners_endpoints(mock_databricks: FakeDatabricks) -> None:
    provider = DatabricksEndpointProvider(mock_databricks.workspace)
    provider.begin_deploy(name="mine", model_uri=MODEL, run=None, progress=False).result(timeout=5)
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


def test_endpoint_facade_deploys_a_databricks_run_and_predicts(
    mock_databricks: FakeDatabricks, tiny_dir: Path
) -> None:
    from cloudml_edu import Dataset, Endpoint, Trainer

    ws = mock_databricks.workspace
    run = Trainer("automl", workspace=ws, timeout_minutes=5).fit(
        Dataset.from_folder(tiny_dir, name="shapes")
    )
    ep = Endpoint.deploy(run, workspace=ws, name="shapes-ep")
    (create,) = mock_databricks.sent("POST", r"/api/2\.0/serving-endpoints")
    assert create.body["config"]["served_entities"][0]["entity_name"] == "cloudml_tester_shapes"
    predictions = ep.predict([tiny_dir / "circle" / "0.png"])
    assert predictions[0].label == "0" and predictions[0].scores == {"0": 0.9, "1": 0.1}
    (call,) = mock_databricks.sent("POST", r"/serving-endpoints/shapes-ep/invocations")
    assert list(call.body) == ["dataframe_split"]
    assert call.body["dataframe_split"]["columns"] == ["image"]
    assert Endpoint.get(ws, "shapes-ep").record.target == "databricks"
    ep.delete()
    assert "shapes-ep" not in mock_databricks.endpoints
