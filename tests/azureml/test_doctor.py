"""``cloudml-edu doctor`` / ``Workspace.check()``: each refusal Azure would make, in one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cloudml_edu.checks import Check


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_student_ready_to_go(mock_azure_ml):
    checks = mock_azure_ml.workspace.check()
    found = _by_name(checks)
    assert [c.status for c in checks if c.status == "fail"] == []
    assert found["workspace"].detail == "ws-course in eastus"
    assert found["storage"].status == "ok"
    assert found["environment"].status == "warn"  # not registered before the first fit
    assert mock_azure_ml.sent("PUT") == [] and mock_azure_ml.sent("POST") == []  # costs nothing


def test_wrong_tenant(mock_azure_ml):
    mock_azure_ml.tenant = "99999999-0000-4000-8000-000000000000"  # a guest's subscription
    checks = mock_azure_ml.workspace.check()
    (failed,) = [c for c in checks if c.status == "fail"]
    assert failed.name == "workspace"
    assert "InvalidAuthenticationTokenTenant" in failed.detail
    assert 'tenant_id = "99999999-0000-4000-8000-000000000000"' in failed.next_step


def test_tenant_id_in_config_asks_the_right_tenant(mock_azure_ml):
    tenant = "99999999-0000-4000-8000-000000000000"
    mock_azure_ml.tenant = tenant
    mock_azure_ml.settings["tenant_id"] = tenant
    assert all(c.ok for c in mock_azure_ml.workspace.check())


def test_the_student_role_cannot_create_the_cluster(mock_azure_ml):
    mock_azure_ml.settings["serverless"] = False
    found = _by_name(mock_azure_ml.workspace.check())["role: compute"]
    assert found.status == "fail" and "AzureML Data Scientist cannot" in found.detail
    assert "serverless = true" in found.next_step


def test_quota_counts_the_endpoint_reserve(mock_azure_ml):
    mock_azure_ml.quota["standardDSv2Family"] = 10  # training 4 + endpoint 2 x 4 = 12
    found = _by_name(mock_azure_ml.workspace.check())["quota"]
    assert found.status == "fail"
    assert "0 of 10 vCPUs" in found.detail and "endpoint Standard_DS3_v2 needs 8" in found.detail


def test_no_storage_read_role(mock_azure_ml):
    mock_azure_ml.storage_roles.clear()
    found = _by_name(mock_azure_ml.workspace.check())["storage"]
    assert found.status == "fail" and "Storage Blob Data Reader" in found.next_step


def test_cli_prints_one_line_per_check_and_exits_1(mock_azure_ml, monkeypatch):
    import cloudml_edu.cli.doctor as doctor_cli
    from cloudml_edu.cli import app

    monkeypatch.setattr(doctor_cli, "workspace_from_option", lambda c: mock_azure_ml.workspace)
    mock_azure_ml.storage_roles.clear()
    done = CliRunner().invoke(app, ["doctor"])
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert any(line.startswith("[FAIL] azureml storage:") for line in lines)
    assert all(line.startswith("[") for line in lines)
    as_json = CliRunner().invoke(app, ["doctor", "--json"])
    assert as_json.exit_code == 1
    payload = json.loads(as_json.output)
    assert payload["ok"] is False and {c["name"] for c in payload["checks"]} >= {"storage", "quota"}


@pytest.mark.parametrize("section", [None])
def test_no_cloud_target_means_no_checks(cloudml_workspace, section):
    assert cloudml_workspace.check() == []


def test_train_runs_the_cheap_checks_first(mock_azure_ml, monkeypatch, images):
    import cloudml_edu.cli.train as train_cli
    from cloudml_edu.cli import app

    monkeypatch.setattr(train_cli, "workspace_from_option", lambda c: mock_azure_ml.workspace)
    mock_azure_ml.tenant = "99999999-0000-4000-8000-000000000000"
    done = CliRunner().invoke(app, ["train", str(images), "--backend", "sdk"])
    assert done.exit_code != 0
    message = done.output + str(done.exception)
    assert "tenant_id" in message and "cloudml-edu doctor" in message
    assert mock_azure_ml.jobs == {} and mock_azure_ml.sent("PUT") == []  # nothing submitted


def test_not_signed_in(mock_azure_ml):
    from azure.core.exceptions import ClientAuthenticationError

    from cloudml_edu.backends.azureml.connection import use_credential

    class NoLogin:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError("Please run 'az login' to set up an account")

    use_credential(mock_azure_ml.workspace, NoLogin())
    (only,) = mock_azure_ml.workspace.check()
    assert (only.name, only.status) == ("sign-in", "fail") and "az login" in only.next_step
    assert mock_azure_ml.requests == []


def test_a_registered_environment_is_reported(mock_azure_ml):
    from cloudml_edu.backends.azureml.environment import JOB_ENVIRONMENT

    mock_azure_ml.add_environment(JOB_ENVIRONMENT.name, JOB_ENVIRONMENT.version, JOB_ENVIRONMENT)
    found = _by_name(mock_azure_ml.workspace.check())["environment"]
    assert found.status == "ok" and found.detail.endswith("registered")
