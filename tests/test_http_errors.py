"""The one table from HTTP statuses to errors, and the one Retry-After parser."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

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
