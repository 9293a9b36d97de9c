"""``translate``: classes from the one status table, Azure ML next steps in the messages."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from cloudml_edu.backends.azureml.connection import translate
from cloudml_edu.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    QuotaError,
    ServiceError,
    ThrottledError,
)


def _http(status: int, message: str) -> HttpResponseError:
    error = HttpResponseError(message=message)
    error.status_code = status
    return error


@pytest.mark.parametrize(
    ("status", "message", "kind", "next_step"),
    [
        (400, "Compute cpu-cluster not found", ConfigError, "backend_options"),
        (400, "QuotaExceeded: not enough cores", QuotaError, "cloudml-edu cleanup"),
        (403, "AuthorizationFailed", AuthError, "az login"),
        (404, "no such job", NotFoundError, "workspace_name"),
        (409, "a deployment is already being created", ConfigError, "[azure_ml]"),
        (429, "too many requests", ThrottledError, "wait a minute"),
        (503, "service unavailable", ServiceError, "run it again later"),
    ],
)
def test_each_status_maps_through_the_table(mock_azure_ml, status, message, kind, next_step):
    error = translate(_http(status, message), action="do x", ws=mock_azure_ml.workspace)
    assert type(error) is kind
    assert str(error).startswith("do x: Azure ML workspace ws-course ")
    assert f"HTTP {status}" in str(error) and next_step in str(error)


def test_no_token_at_all_is_an_auth_error():
    error = translate(ClientAuthenticationError("DefaultAzureCredential failed"), action="log in")
    assert isinstance(error, AuthError) and "az login" in str(error)
    # nothing was sent, so nothing was refused: no HTTP 401 is claimed
    assert "nothing was sent" in str(error) and "refused" not in str(error)
    assert "401" not in str(error)


def test_the_cli_keeps_the_sdk_chatter_for_debug() -> None:
    import logging

    from cloudml_edu._quiet import SDK_LOGGERS, quiet_sdk_chatter

    before = {name: logging.getLogger(name).level for name in SDK_LOGGERS}
    try:
        quiet_sdk_chatter(debug=False)
        assert all(logging.getLogger(n).level == logging.ERROR for n in SDK_LOGGERS)
        quiet_sdk_chatter(debug=True)
        assert logging.getLogger("azure.identity").level == logging.DEBUG
    finally:  # the levels are process-wide: leave them as the next test expects
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


def test_a_connection_failure_is_a_service_error():
    error = translate(ConnectionError("reset by peer"), action="read job j")
    assert isinstance(error, ServiceError) and "ConnectionError" in str(error)
