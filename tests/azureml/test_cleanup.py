"""``cloudml-edu cleanup``: lists the owner's endpoints and idle clusters, removes them on --yes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cloudml_edu import Dataset, Endpoint, Trainer
from cloudml_edu.backends.azureml import known


@pytest.fixture
def cli(mock_azure_ml, monkeypatch):
    import cloudml_edu.cli.cleanup as cleanup_cli
    from cloudml_edu.cli import app

    monkeypatch.setattr(cleanup_cli, "workspace_from_option", lambda c: mock_azure_ml.workspace)
    monkeypatch.setenv("COLUMNS", "250")
    return lambda *args: CliRunner().invoke(app, ["cleanup", *args])


@pytest.fixture
def leftovers(with_cluster, mock_azure_ml, images):
    """The owner's endpoint and idle cluster (made by a fit with serverless = false), a busy
    cluster, and another owner's endpoint."""
    from cloudml_edu.backends.azureml.entities import endpoint_name

    ws = mock_azure_ml.workspace
    run = Trainer("sdk", workspace=ws).fit(Dataset.from_folder(images, progress=False))
    Endpoint.deploy(run, workspace=ws, name="digits")
    mock_azure_ml.add_compute("busy", tags={"cloudml.owner": "student"}, nodes=1)
    mock_azure_ml.add_compute("bobs", tags={"cloudml.owner": "bob"})
    mock_azure_ml.resources["onlineEndpoints/bob-digits"] = {
        **mock_azure_ml.resources[f"onlineEndpoints/{endpoint_name(ws, 'digits')}"],
        "name": "bob-digits",
        "tags": {"cloudml.owner": "bob"},
    }
    return ws


def test_dry_run_lists_what_would_go(cli, leftovers, mock_azure_ml):
    done = cli("--dry-run", "--json")
    assert done.exit_code == 0, done.output
    found = json.loads(done.output)["found"]
    assert [(f["kind"], f["name"]) for f in found] == [
        ("endpoint", "student-digits-5231ea"),
        ("cluster", "cpu-cluster"),
    ]
    assert found[0]["hourly_usd"] == 0.293 and "1 x Standard_DS3_v2" in found[0]["detail"]
    assert mock_azure_ml.sent("DELETE") == []
    table = cli("--dry-run").output
    assert "student-digits-5231ea" in table and "$0.29/hour" in table


def test_yes_removes_them_with_their_records(cli, leftovers, mock_azure_ml):
    done = cli("--yes", "--json")
    assert done.exit_code == 0, done.output
    assert len(json.loads(done.output)["removed"]) == 2
    assert set(mock_azure_ml.endpoints) == {"bob-digits"}
    assert "computes/cpu-cluster" not in mock_azure_ml.resources
    assert {"computes/busy", "computes/bobs"} <= set(mock_azure_ml.resources)
    assert Endpoint.list(leftovers) == []  # the record went with the endpoint
    assert not known.is_known(leftovers, "compute", "cpu-cluster")  # next fit recreates it
    again = cli("--dry-run", "--json")
    assert json.loads(again.output)["found"] == []


def test_without_yes_it_asks_and_json_refuses(cli, leftovers, mock_azure_ml):
    refused = cli("--json")
    assert refused.exit_code != 0 and "--yes" in str(refused.exception)
    assert mock_azure_ml.sent("DELETE") == []
