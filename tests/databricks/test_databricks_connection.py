"""The Databricks connection: auth methods, one client per workspace, errors, bounded retries."""

from __future__ import annotations

import pytest

from cloudml_edu._http import error_class
from cloudml_edu.backends.databricks.connection import (
    client_for,
    sdk_arguments,
    translate_error,
)
from cloudml_edu.config import DatabricksConfig
from cloudml_edu.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    QuotaError,
    ThrottledError,
)
from cloudml_edu.testing.databricks import FakeDatabricks

HOST = "https://adb-1.2.azuredatabricks.net"


def test_auth_type_is_explicit_for_each_method() -> None:
    token = "dapi" + "1" * 32
    assert sdk_arguments(DatabricksConfig(host=HOST, token=token))["auth_type"] == "pat"
    cli = sdk_arguments(DatabricksConfig(host=HOST, auth_type="azure-cli"))
    assert cli["auth_type"] == "azure-cli" and "token" not in cli
    secret = sdk_arguments(
        DatabricksConfig(
            host=HOST, azure_tenant_id="t", azure_client_id="c", azure_client_secret="s" * 8
        )
    )
    assert secret["auth_type"] == "azure-client-secret" and secret["azure_client_id"] == "c"
    profile = sdk_arguments(DatabricksConfig(profile="course"))
    assert profile["profile"] == "course" and "host" not in profile
    assert sdk_arguments(DatabricksConfig(host=HOST, token=token))["retry_timeout_seconds"] == 20
    bounded = sdk_arguments(DatabricksConfig(host=HOST, token=token), read_timeout=7.5)
    assert bounded["http_timeout_seconds"] == 7.5


def test_two_methods_without_auth_type_are_refused() -> None:
    both = DatabricksConfig(host=HOST, token="dapi" + "2" * 32, profile="course")
    with pytest.raises(ConfigError, match="auth_type"):
        sdk_arguments(both)
    chosen = both.model_copy(update={"auth_type": "profile"})
    assert sdk_arguments(chosen)["profile"] == "course"
    with pytest.raises(ConfigError, match="no credentials"):
        sdk_arguments(DatabricksConfig(host=HOST))


def test_secrets_stay_out_of_the_config_repr() -> None:
    token = "dapi" + "3" * 32
    assert token not in repr(DatabricksConfig(host=HOST, token=token))


def test_one_client_per_workspace_and_the_well_known_probe(
    mock_databricks: FakeDatabricks,
) -> None:
    first = client_for(mock_databricks.workspace)
    assert client_for(mock_databricks.workspace) is first
    probes = mock_databricks.sent("GET", "/.well-known/databricks-config")
    assert len(probes) == 1


@pytest.mark.parametrize(
    ("status", "code", "kind", "step"),
    [
        (401, "UNAUTHENTICATED", AuthError, "check [databricks] token"),
        (403, "PERMISSION_DENIED", AuthError, "ask the workspace admin for the permission"),
        (404, "RESOURCE_DOES_NOT_EXIST", NotFoundError, "check its name"),
        (403, "QUOTA_EXCEEDED", QuotaError, "waiting will not help"),
        (400, "QUOTA_EXCEEDED", QuotaError, "waiting will not help"),
        (409, "RESOURCE_CONFLICT", ConfigError, "check its state in the Databricks UI"),
    ],
)
def test_errors_take_the_class_from_the_status_table_and_the_step_from_the_class(
    mock_databricks: FakeDatabricks, status: int, code: str, kind: type, step: str
) -> None:
    client = client_for(mock_databricks.workspace)
    message = "cluster quota exceeded" if "QUOTA" in code else "not for you"
    mock_databricks.fail("GET", r"/api/2\.2/jobs/runs/get", status, code=code, message=message)
    with pytest.raises(Exception) as caught:
        client.jobs.get_run(1010)
    error = translate_error(caught.value, action="read run 1010", where="the workspace")
    assert type(error) is kind and type(error) is error_class(status, message)
    assert str(error).startswith("read run 1010: ") and step in str(error)


def test_429_is_retried_within_the_bound(mock_databricks: FakeDatabricks) -> None:
    client = client_for(mock_databricks.workspace)
    mock_databricks.fail(
        "POST", r"/api/2\.2/jobs/runs/submit", status=429, times=2, headers={"Retry-After": "3"}
    )
    assert client.jobs.submit(run_name="x", tasks=[]).run_id == 1010
    assert len(mock_databricks.sent("POST", "/api/2.2/jobs/runs/submit")) == 3
    assert [round(s) for s in mock_databricks.clock.slept][:2] in ([3, 3], [4, 4], [3, 4], [4, 3])
    mock_databricks.fail("POST", r"/api/2\.2/jobs/runs/submit", status=429, times=1000)
    with pytest.raises(Exception) as caught:
        client.jobs.submit(run_name="x", tasks=[])
    error = translate_error(caught.value, action="submit", where="the workspace")
    assert isinstance(error, ThrottledError)
    assert sum(mock_databricks.clock.slept) <= 20 + 3 + 1 + 8  # the bound, plus one last sleep


def test_azure_identity_signs_requests_with_an_entra_token(
    mock_databricks: FakeDatabricks, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azure.identity
    from azure.core.credentials import AccessToken

    from cloudml_edu import Workspace

    scopes: list[str] = []

    class Credential:
        def get_token(self, scope: str) -> AccessToken:
            scopes.append(scope)
            return AccessToken("entra-token-for-databricks", 1_900_000_000)

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", Credential)
    ws = mock_databricks.workspace
    settings = ws.config.databricks
    assert settings is not None
    entra = settings.model_copy(update={"token": None, "auth_type": "azure-identity"})
    workspace = Workspace(ws.config.model_copy(update={"databricks": entra}))
    mock_databricks.token = "entra-token-for-databricks"
    client_for(workspace).jobs.submit(run_name="x", tasks=[])
    (submit,) = mock_databricks.sent("POST", "/api/2.2/jobs/runs/submit")
    assert submit.headers["Authorization"] == "Bearer entra-token-for-databricks"
    assert scopes == ["2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"]


def test_the_token_never_reaches_the_sdk_logs(
    mock_databricks: FakeDatabricks, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.DEBUG, logger="databricks"):
        client = client_for(mock_databricks.workspace)
        client.jobs.submit(run_name="x", tasks=[])
        mock_databricks.fail("GET", r"/api/2\.2/jobs/runs/get", status=403, message="no access")
        with pytest.raises(Exception) as caught:
            client.jobs.get_run(1010)
    assert "runs/submit" in caplog.text  # the SDK did log the requests
    assert mock_databricks.token not in caplog.text
    error = translate_error(caught.value, action="read", where="the workspace")
    assert mock_databricks.token not in str(error)


def test_a_cluster_policy_refusal_is_a_config_error(mock_databricks: FakeDatabricks) -> None:
    client = client_for(mock_databricks.workspace)
    mock_databricks.fail(
        "POST",
        r"/api/2\.2/jobs/runs/submit",
        status=400,
        message="Cluster validation error: Validation failed for spark_version, the value must "
        "be one of [15.4.x-scala2.12] (is 15.4.x-cpu-ml-scala2.12)",
    )
    with pytest.raises(Exception) as caught:
        client.jobs.submit(run_name="x", tasks=[])
    error = translate_error(caught.value, action="submit the AutoML run", where="the workspace")
    assert isinstance(error, ConfigError) and "spark_version" in str(error)


def test_an_unreachable_host_fails_within_the_bound(
    mock_databricks: FakeDatabricks,
) -> None:
    from cloudml_edu import Workspace
    from cloudml_edu.errors import ServiceError

    ws = mock_databricks.workspace
    settings = ws.config.databricks
    assert settings is not None
    wrong = settings.model_copy(update={"host": "https://adb-999.9.azuredatabricks.net"})
    workspace = Workspace(ws.config.model_copy(update={"databricks": wrong}))
    client = client_for(workspace)  # the probe fails (fast here: nothing answers) and is skipped
    assert client.config.retry_timeout_seconds == 20
    with pytest.raises(Exception) as caught:
        client.jobs.get_run(1)
    error = translate_error(caught.value, action="read run 1", where="adb-999")
    assert isinstance(error, ServiceError) and "check [databricks] host" in str(error)
    assert 20 <= sum(mock_databricks.clock.slept) <= 20 + 11
