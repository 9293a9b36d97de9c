"""The one table from HTTP statuses to errors, and the one Retry-After parser."""

from __future__ import annotations

import base64
import builtins
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
import responses

import cloudml_edu
from cloudml_edu._http import error_class, error_for_status, retry_after
from cloudml_edu.errors import (
    AuthError,
    CloudMLError,
    ConfigError,
    NotFoundError,
    QuotaError,
    ServiceError,
    ThrottledError,
)

if TYPE_CHECKING:
    from cloudml_edu.storage.blob import BlobStore


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, "", ConfigError),
        (401, "", AuthError),
        (403, "", AuthError),
        (404, "", NotFoundError),
        (409, "", ConfigError),
        (422, "", ConfigError),
        (429, "", ThrottledError),
        (429, '{"error": {"code": "QuotaExceeded"}}', QuotaError),
        (
            400,
            "Operation could not be completed as it results in exceeding approved quota",
            QuotaError,
        ),
        (500, "", ServiceError),
        (503, "", ServiceError),
    ],
)
def test_status_maps_to_one_error_class(status: int, body: str, expected: type) -> None:
    assert error_class(status, body) is expected
    error = error_for_status(status, "GET x failed; retry", body=body)
    assert isinstance(error, CloudMLError) and str(error) == "GET x failed; retry"


def test_timeout_error_is_also_the_builtin() -> None:
    error = cloudml_edu.TimeoutError("waited 5 s")
    assert isinstance(error, builtins.TimeoutError)
    assert isinstance(error, CloudMLError)
    with pytest.raises(builtins.TimeoutError):
        raise error


def test_retry_after_reads_every_form() -> None:
    assert retry_after({"retry-after-ms": "1500"}) == 1.5
    assert retry_after({"x-ms-retry-after-ms": "250"}) == 0.25
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    wait = retry_after({"Retry-After": later})
    assert wait is not None and 25 <= wait <= 31


# ---- one class for one status, whichever client met it ------------------------------------

_QUOTA_BODY = '{"error": {"code": "QuotaExceeded", "message": "the quota is used up"}}'
_GROUP = "f089354e-8366-4e18-aea3-4cb4a3a50b48"


def _blob_answer(status: int, body: str) -> CloudMLError:
    """A blob listing answered ``status``/``body`` (the service's XML error shape)."""
    xml = f"<?xml version='1.0'?><Error><Code>Refused</Code><Message>{body}</Message></Error>"
    responses.get("https://acct.blob.core.windows.net/cloudml", status=status, body=xml)
    with pytest.raises(CloudMLError) as caught:
        list(_blob_store(attempts=1).list("o/digits/1/"))
    return caught.value


def _blob_store(*, attempts: int) -> BlobStore:
    from cloudml_edu.storage.blob import BlobStore
    from cloudml_edu.storage.retry import RetrySettings

    key = base64.b64encode(b"k" * 32).decode()
    retry = RetrySettings(attempts=attempts, backoff=0.001, max_backoff=0.001)
    return BlobStore(account_name="acct", account_key=key, retry=retry)


def _scoring_answer(status: int, body: str) -> CloudMLError:
    """An endpoint's scoring URL answered ``status``/``body``."""
    import requests

    from cloudml_edu.scoring import post_json

    url = "https://digits.westeurope.inference.ml.azure.com/score"
    responses.post(url, status=status, body=body)
    with pytest.raises(CloudMLError) as caught:
        post_json(
            requests.Session(),
            url,
            {"input_data": {}},
            timeout=5,
            name="digits",
            when_down="redeploy it",
            when_failed="read its logs",
        )
    return caught.value


def _powerbi_answer(status: int, body: str) -> CloudMLError:
    """Power BI's dataset list answered ``status``/``body`` (every retry alike)."""
    from cloudml_edu.report import PowerBIClient

    class Token:
        def get_token(self, *scopes: str) -> SimpleNamespace:
            return SimpleNamespace(token="t", expires_on=4102444800)

    responses.get(
        f"https://api.powerbi.com/v1.0/myorg/groups/{_GROUP}/datasets", status=status, body=body
    )
    client = PowerBIClient(_GROUP, credential=Token(), sleep=lambda s: None, max_attempts=2)
    with pytest.raises(CloudMLError) as caught:
        client.find_dataset("cloudml-edu")
    return caught.value


@responses.activate
@pytest.mark.parametrize("answer", [_blob_answer, _scoring_answer, _powerbi_answer])
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, "bad request"),
        (401, "no token"),
        (403, "not allowed"),
        (403, _QUOTA_BODY),
        (409, "busy"),
        (429, "slow down"),
        (429, _QUOTA_BODY),
        (500, "boom"),
        (503, _QUOTA_BODY),
    ],
)
def test_blob_scoring_and_powerbi_pick_the_class_from_the_one_table(
    answer: Callable[[int, str], CloudMLError], status: int, body: str
) -> None:
    error = answer(status, body)
    assert type(error) is error_class(status, body)
    assert f"{status}" in str(error)  # the message still names what the service said


@responses.activate
@pytest.mark.parametrize(
    ("answer", "next_step"),
    [
        (_blob_answer, "delete dataset versions you no longer need"),
        (_scoring_answer, "waiting will not help"),
        (_powerbi_answer, "delete push datasets you no longer need"),
    ],
)
def test_a_quota_refusal_says_what_frees_it_not_to_wait(
    answer: Callable[[int, str], CloudMLError], next_step: str
) -> None:
    error = answer(429, _QUOTA_BODY)
    assert isinstance(error, QuotaError) and next_step in str(error)


@responses.activate
def test_blob_storage_does_not_retry_a_used_up_quota() -> None:
    """A 429 that says quota fails at once; a plain 429 is retried (Retry-After honoured)."""
    url = "https://acct.blob.core.windows.net/cloudml"
    quota = responses.get(
        url, status=429, headers={"x-ms-error-code": "QuotaExceeded", "Retry-After": "0"}
    )
    with pytest.raises(QuotaError):
        list(_blob_store(attempts=3).list("o/"))
    assert quota.call_count == 1
    responses.replace(responses.GET, url, status=429, headers={"Retry-After": "0"})
    with pytest.raises(ThrottledError):
        list(_blob_store(attempts=3).list("o/"))
    assert len(responses.calls) == 1 + 3
