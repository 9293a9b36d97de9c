"""The private azure-storage-blob parts the blob store uses: fail here, by name, on an SDK rename."""

from __future__ import annotations

import pytest

from cloudml_edu.errors import ConfigError
from cloudml_edu.storage import _sdk_internals
from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.storage.retry import RetrySettings, make_retry_policy
from cloudml_edu.testing.azurite import dev_connection_string


def test_the_pipeline_client_behind_a_container_client_is_where_we_reach_it() -> None:
    from azure.core import PipelineClient
    from azure.storage.blob import ContainerClient

    client = ContainerClient.from_connection_string(
        dev_connection_string("http://127.0.0.1:1/devstoreaccount1"), "c"
    )
    pipeline = _sdk_internals.pipeline_client(client)
    assert isinstance(pipeline, PipelineClient)
    assert callable(pipeline.send_request)


def test_the_storage_retry_policy_is_where_we_import_it() -> None:
    from azure.core.pipeline.policies import HTTPPolicy

    base = _sdk_internals.storage_retry_policy()
    assert issubclass(base, HTTPPolicy)
    policy = make_retry_policy(RetrySettings(attempts=3))
    assert isinstance(policy, base)
    from azure.core.pipeline import PipelineContext, PipelineRequest
    from azure.core.rest import HttpRequest

    request = PipelineRequest(HttpRequest("GET", "http://127.0.0.1:1/a"), PipelineContext(None))
    state = policy.configure_retries(request)  # type: ignore[attr-defined]
    assert state["total"] == 2  # attempts - 1 retries, counted down by the SDK's increment()
    assert policy.increment(state, request=request.http_request, error=None)  # type: ignore[attr-defined]
    assert state["count"] == 1


def test_a_renamed_attribute_is_a_config_error_naming_it() -> None:
    class Renamed:
        _client = object()

    with pytest.raises(ConfigError, match=r"ContainerClient\._client\._client.*pyproject"):
        _sdk_internals.pipeline_client(Renamed())


def test_the_blob_store_is_built_on_them() -> None:
    store = BlobStore(
        connection_string=dev_connection_string("http://127.0.0.1:1/devstoreaccount1"),
        container="ccc",
    )
    try:
        assert store._pipeline is _sdk_internals.pipeline_client(store._client)
    finally:
        store.close()
