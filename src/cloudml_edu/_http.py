"""One error policy over HTTP: which status means which error, and how long to wait.

Blob storage, Power BI, endpoints and the cloud adapters all map a failed
response through :func:`error_for_status`, so a 401 is an :class:`AuthError`
and a 429 a :class:`ThrottledError` wherever it happens, and they read a
service's requested wait with the one :func:`retry_after`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from cloudml_edu.errors import (
    AuthError,
    CloudMLError,
    ConfigError,
    NotFoundError,
    QuotaError,
    ServiceError,
    ThrottledError,
)

__all__ = ["RETRY_STATUSES", "error_class", "error_for_status", "retry_after"]

#: Statuses worth another try: timeouts, throttling and transient server errors.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Status code -> the error a caller can act on; any other 4xx is a ConfigError
#: (the request itself is wrong), any other 5xx a ServiceError.
_BY_STATUS: Mapping[int, type[CloudMLError]] = {
    400: ConfigError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    408: ServiceError,
    409: ConfigError,
    429: ThrottledError,
}

_QUOTA_WORDS = ("quota", "QuotaExceeded", "OperationNotAllowed", "RESOURCE_EXHAUSTED")


def error_class(status: int, body: str = "") -> type[CloudMLError]:
    """The :class:`CloudMLError` subclass for an HTTP ``status`` (and its body, for quota)."""
    if any(word.lower() in body.lower() for word in _QUOTA_WORDS) and status in (
        400,
        403,
        409,
        429,
    ):
        return QuotaError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ConfigError if 400 <= status < 500 else ServiceError


def error_for_status(status: int, message: str, *, body: str = "") -> CloudMLError:
    """The error to raise for a failed response: ``message`` should name the call and next step."""
    return error_class(status, body)(message)


def retry_after(headers: Any) -> float | None:
    """Seconds the service asked to wait (``retry-after-ms``, ``x-ms-retry-after-ms``,
    ``Retry-After`` as seconds or an HTTP date), or None."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(float(value) / 1000, 0.0)
            except ValueError:
                pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None
