"""Remote calls outside blob storage keep their bounds too: endpoints, Power BI, Azure ML.

(Blob storage: tests/storage/test_timeouts.py.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudml_edu import TimeoutError, Workspace
from cloudml_edu.config import AzureMLConfig, CloudMLConfig, Timeouts
from cloudml_edu.testing.faults import SilentServer

BOUNDS = Timeouts(connect=0.5, read=0.5, total=2.0)
SLACK = 1.5


class _Token:
    token = "not-a-real-token"
    expires_on = time.time() + 3600


class _Credential:
    def get_token(self, *scopes: str, **kwargs: object) -> _Token:
        return _Token()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def test_power_bi_calls_give_up_within_the_total_bound(
    silent: SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu.report.powerbi import push

    monkeypatch.setattr(push, "API", silent.url)
    client = push.PowerBIClient(
        "f089354e-8366-4e18-aea3-4cb4a3a50b48", credential=_Credential(), timeouts=BOUNDS
    )
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"Power BI GET datasets did not answer within 0.5 s"):
        client.find_dataset("cloudml-edu")
    assert time.monotonic() - started < BOUNDS.total + SLACK
    assert silent.connections >= 2  # a read is idempotent: retried within the budget


def test_power_bi_posts_are_not_retried_after_a_timeout(
    silent: SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu.report.powerbi import push

    monkeypatch.setattr(push, "API", silent.url)
    client = push.PowerBIClient(
        "f089354e-8366-4e18-aea3-4cb4a3a50b48", credential=_Credential(), timeouts=BOUNDS
    )
    with pytest.raises(TimeoutError, match="push again"):
        client.post_rows("ds", "dim_label", [{"label_key": 1}])
    assert silent.connections == 1  # a POST may have been applied: never sent twice


def test_the_azure_ml_client_uses_the_workspace_timeouts(tmp_path: Path) -> None:
    from cloudml_edu.backends.azureml.connection import client_for, use_credential

    section = AzureMLConfig(subscription_id="s", resource_group="r", workspace_name="w")
    ws = Workspace(
        CloudMLConfig(root=tmp_path, azure_ml=section, timeouts=Timeouts(connect=3, read=7))
    )
    use_credential(ws, _Credential())  # type: ignore[arg-type]
    transport: Any = client_for(ws)._service_client_10_2023._client._pipeline._transport
    config = transport.connection_config
    assert (config.timeout, config.read_timeout) == (3, 7)


def test_endpoint_predict_gives_up_within_its_timeout(
    silent: SilentServer, tmp_path: Path, tiny_dir: Path
) -> None:
    from datetime import UTC, datetime

    from cloudml_edu import Endpoint
    from cloudml_edu.backends.base import EndpointRecord

    record = EndpointRecord(
        name="slow-svc",
        model_uri="runs:/x/model",
        url=silent.url,
        created=datetime.now(UTC),
        details={"pid": 1, "port": silent.port, "log_path": str(tmp_path / "x.log")},
    )
    endpoint = Endpoint(record, workspace=Workspace.local(tmp_path / "ws"))
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not answer within 0.5 s.*predict_batch"):
        endpoint.predict([tiny_dir / "circle" / "0.png"], timeout=0.5)
    assert time.monotonic() - started < 0.5 + SLACK
    assert silent.connections == 1  # a prediction is not retried
