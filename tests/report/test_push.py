"""The Power BI push client at the HTTP boundary (responses): bodies, batches, retries, errors."""

from __future__ import annotations

import json
import logging
import re
from types import SimpleNamespace

import pandas as pd
import pytest
import responses
from report_fakes import synthetic_run

from cloudml_edu import AuthError, ConfigError, ServiceError, ThrottledError
from cloudml_edu._secrets import redact
from cloudml_edu.errors import QuotaError
from cloudml_edu.report import PowerBIClient, build_star_schema
from cloudml_edu.report.powerbi.push import API, SCOPE, RateLimiter
from cloudml_edu.report.powerbi.schema import RELATIONSHIPS, TABLES

GROUP = "f089354e-8366-4e18-aea3-4cb4a3a50b48"
BASE = f"{API}/groups/{GROUP}"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.fake-powerbi-token"


class FakeCredential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str) -> SimpleNamespace:
        self.scopes.append(scopes)
        return SimpleNamespace(token=TOKEN, expires_on=4102444800)  # 2100-01-01


class FakeTime:
    """A clock that only moves when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(fake_time: FakeTime) -> PowerBIClient:
    return PowerBIClient(
        GROUP, credential=FakeCredential(), clock=fake_time.clock, sleep=fake_time.sleep
    )


@pytest.fixture(scope="module")
def schema() -> object:
    """25,000 predictions over two runs: fact_prediction needs three POSTs."""
    runs = [synthetic_run(owner="a", run_id="a" * 32), synthetic_run(owner="b", run_id="b" * 32)]
    frame = pd.DataFrame(
        {
            "label": ["cat", "dog"] * 6250,
            "predicted": ["cat"] * 12500,
            "score": [0.75] * 12500,
            "path": ["x.png"] * 12500,
        }
    )
    return build_star_schema(runs, predictions=lambda run: frame, artifacts=False)


def _rows_calls(calls: responses.CallList, table: str) -> list[list[dict[str, object]]]:
    return [
        json.loads(c.request.body)["rows"]
        for c in calls
        if c.request.method == "POST" and c.request.url.endswith(f"/tables/{table}/rows")
    ]


@responses.activate
def test_first_push_creates_the_dataset_then_posts_rows_in_batches(
    client: PowerBIClient, schema
) -> None:  # type: ignore[no-untyped-def]
    responses.get(f"{BASE}/datasets", json={"value": [{"id": "other", "name": "something else"}]})
    create = responses.post(
        f"{BASE}/datasets", json={"id": "ds-1", "name": "cloudml-edu"}, status=201
    )
    responses.post(re.compile(rf"{BASE}/datasets/ds-1/tables/\w+/rows"), status=200)
    result = client.push(schema, name="cloudml-edu")

    assert result.created and result.dataset_id == "ds-1"
    body = json.loads(create.calls[0].request.body)
    assert create.calls[0].request.url.endswith("defaultRetentionPolicy=None")
    assert body["name"] == "cloudml-edu" and body["defaultMode"] == "Push"
    tables = {t["name"]: {c["name"]: c["dataType"] for c in t["columns"]} for t in body["tables"]}
    assert list(tables) == list(TABLES)
    assert tables["fact_prediction"] == {
        "run_key": "Int64",
        "model_key": "Int64",
        "dataset_key": "Int64",
        "date_key": "Int64",
        "true_label_key": "Int64",
        "predicted_label_key": "Int64",
        "score": "Double",
        "correct": "Boolean",
        "path": "String",
        "image": "String",
    }
    assert tables["fact_image_feature"]["pc1"] == "Double"
    assert tables["dim_run"]["started"] == "DateTime"
    assert len(body["relationships"]) == len(RELATIONSHIPS)
    assert {
        "fromTable": "fact_metric",
        "fromColumn": "metric_key",
        "toTable": "dim_metric",
        "toColumn": "metric_key",
    }.items() <= next(
        r for r in body["relationships"] if r["name"] == "fact_metric.metric_key"
    ).items()

    batches = _rows_calls(responses.calls, "fact_prediction")
    assert [len(b) for b in batches] == [10_000, 10_000, 5_000]
    assert result.rows["fact_prediction"] == 25_000
    assert not any(c.request.method == "DELETE" for c in responses.calls)
    run_rows = _rows_calls(responses.calls, "dim_run")[0]
    assert run_rows[0]["started"] == "2026-11-20T10:00:00Z" and run_rows[0]["artifacts"] is None
    for call in responses.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_repush_finds_the_dataset_and_clears_every_table_before_posting(
    client: PowerBIClient, schema
) -> None:  # type: ignore[no-untyped-def]
    responses.get(f"{BASE}/datasets", json={"value": [{"id": "ds-9", "name": "course"}]})
    responses.delete(re.compile(rf"{BASE}/datasets/ds-9/tables/\w+/rows"), status=200)
    responses.post(re.compile(rf"{BASE}/datasets/ds-9/tables/\w+/rows"), status=200)
    result = client.push(schema, name="course")

    assert not result.created and result.dataset_id == "ds-9"
    methods = [
        (c.request.method, c.request.url.split("/tables/")[-1].split("/")[0])
        for c in responses.calls[1:]
    ]
    deletes = [t for m, t in methods if m == "DELETE"]
    assert deletes == list(TABLES)
    first_post = next(i for i, (m, _) in enumerate(methods) if m == "POST")
    assert all(m == "DELETE" for m, _ in methods[:first_post]) and first_post == len(TABLES)
    assert not any(
        c.request.url == f"{BASE}/datasets" and c.request.method == "POST" for c in responses.calls
    )


@responses.activate
def test_429_waits_for_retry_after_then_succeeds(
    client: PowerBIClient, fake_time: FakeTime
) -> None:
    url = f"{BASE}/datasets/ds/tables/dim_label/rows"
    responses.post(url, status=429, headers={"Retry-After": "7"})
    responses.post(url, status=200)
    assert client.post_rows("ds", "dim_label", [{"label_key": 1, "label": "cat"}]) == 1
    assert fake_time.sleeps == [7.0]
    assert len(responses.calls) == 2


@responses.activate
def test_throttling_that_never_ends_is_a_throttled_error(fake_time: FakeTime) -> None:
    client = PowerBIClient(
        GROUP,
        credential=FakeCredential(),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        max_attempts=3,
    )
    responses.get(f"{BASE}/datasets", status=429, headers={"Retry-After": "2"})
    with pytest.raises(ThrottledError, match="429 after 3 attempts"):
        client.find_dataset("x")
    assert fake_time.sleeps == [2.0, 2.0]


@responses.activate
def test_server_errors_retry_reads_but_not_row_posts(
    client: PowerBIClient, fake_time: FakeTime
) -> None:
    responses.get(f"{BASE}/datasets", status=503)
    responses.get(f"{BASE}/datasets", json={"value": []})
    assert client.find_dataset("x") is None
    assert len(fake_time.sleeps) == 1

    url = f"{BASE}/datasets/ds/tables/dim_label/rows"
    responses.post(url, status=500, body="boom")
    with pytest.raises(ServiceError, match="HTTP 500: boom"):
        client.post_rows("ds", "dim_label", [{"label_key": 1}])
    assert sum(1 for c in responses.calls if c.request.url == url) == 1


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_refused_access_is_an_auth_error_with_the_next_step(
    client: PowerBIClient, status: int
) -> None:
    responses.get(
        f"{BASE}/datasets", status=status, json={"error": {"code": "PowerBINotAuthorizedException"}}
    )
    with pytest.raises(AuthError, match=r"member of the Power BI workspace.*tenant setting"):
        client.find_dataset("x")


def test_a_credential_that_fails_is_an_auth_error() -> None:
    class Broken:
        def get_token(self, *scopes: str) -> object:
            raise RuntimeError("no az login")

    with pytest.raises(AuthError, match="az login"):
        PowerBIClient(GROUP, credential=Broken())._bearer()


@responses.activate
def test_the_token_is_requested_for_power_bi_and_never_logged(
    client: PowerBIClient, caplog: pytest.LogCaptureFixture
) -> None:
    credential = FakeCredential()
    client = PowerBIClient(GROUP, credential=credential)
    responses.get(f"{BASE}/datasets", json={"value": []})
    with caplog.at_level(logging.DEBUG):
        client.find_dataset("x")
        logging.getLogger("cloudml_edu.test").debug("header was Bearer %s", TOKEN)
    assert credential.scopes == [(SCOPE,)]
    assert TOKEN not in caplog.text and TOKEN not in repr(client)
    assert redact(f"token {TOKEN}") == "token ***"


def test_rate_limiter_allows_120_posts_a_minute(fake_time: FakeTime) -> None:
    limiter = RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(120):
        limiter.acquire()
    assert fake_time.sleeps == []
    fake_time.now += 15.0
    limiter.acquire()  # the 121st waits until the first leaves the window
    assert fake_time.sleeps == [45.0]
    for _ in range(119):
        limiter.acquire()
    assert fake_time.sleeps == [45.0]  # the 120 at t=0 have left the window by t=60
    limiter.acquire()  # 120 calls at t=60 in the window: wait a full minute
    assert fake_time.sleeps == [45.0, 60.0]


@responses.activate
def test_a_429_that_says_the_quota_is_used_up_is_a_quota_error_at_once(
    client: PowerBIClient, fake_time: FakeTime
) -> None:
    body = {"error": {"code": "DatasetQuotaExceeded", "message": "too many push datasets"}}
    responses.post(f"{BASE}/datasets", status=429, json=body, headers={"Retry-After": "30"})
    with pytest.raises(QuotaError, match=r"quota is used up.*delete push datasets"):
        client.create_dataset("cloudml-edu")
    assert fake_time.sleeps == [] and len(responses.calls) == 1  # not retried as throttling


@pytest.mark.parametrize(
    "group", ["../../admin/groups", "x/../y", "abc?$top=1", "a#b", "", "/groups", "\u2025"]
)
def test_a_group_that_is_no_id_or_name_is_refused_before_sending(group: str) -> None:
    with pytest.raises(ConfigError, match="by its id or its name"):
        PowerBIClient(group, credential=FakeCredential())


@responses.activate
def test_a_group_given_by_name_is_looked_up_once() -> None:
    responses.get(f"{API}/groups", json={"value": [{"id": GROUP, "name": "ML course 2026"}]})
    responses.get(f"{BASE}/datasets", json={"value": [{"id": "d1", "name": "x"}]})
    client = PowerBIClient("ML course 2026", credential=FakeCredential())
    assert client.find_dataset("x") == "d1" and client.find_dataset("y") is None
    lookups = [c for c in responses.calls if "$filter" in c.request.url]
    assert len(lookups) == 1 and "name%20eq%20%27ML%20course%202026%27" in lookups[0].request.url
