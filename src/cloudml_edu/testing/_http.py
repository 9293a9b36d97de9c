"""What every fake service shares: the ``responses`` hook, the record of what was sent,
scripted faults and dispatch to small per-service route handlers; and :class:`Lifecycle`,
the ``with`` statement over ``start()``/``stop()`` that Azurite and the fault servers use too.

A fake (Azure ML, Databricks, Power BI) is an :class:`HttpFake` holding a list of
:class:`Service` objects; each service answers the requests it claims (ARM, MLflow,
scoring; jobs, SQL statements, serving...).  Users' tests see one API on every fake:
:attr:`HttpFake.requests`, :meth:`HttpFake.sent` and :meth:`HttpFake.fail`.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    import responses
    from requests import PreparedRequest

__all__ = [
    "Fault",
    "HttpFake",
    "Lifecycle",
    "Reply",
    "SentRequest",
    "Service",
    "json_reply",
    "proto_double",
]

Reply = tuple[int, dict[str, str], str | bytes]


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON answer."""
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload)


@dataclass
class SentRequest:
    """One request the client sent: method, URL, path, query, parsed JSON body and raw bytes."""

    method: str
    url: str
    path: str
    query: dict[str, str]
    body: Any
    size: int
    at: float = field(default_factory=time.monotonic)
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes = b""

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


@dataclass
class Fault:
    """A scripted failure: the next ``times`` matching requests get ``status`` and ``code``."""

    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    code: str
    message: str
    headers: dict[str, str]


class Service(Protocol):
    """One service of a fake: claims requests by host and path, and answers them."""

    def claims(self, request: SentRequest) -> bool: ...

    def answer(self, request: SentRequest) -> Reply: ...


_DEFAULT_CODES = {
    401: "Unauthorized",
    403: "PermissionDenied",
    404: "NotFound",
    429: "TooManyRequests",
}


class Lifecycle:
    """Something a test starts and stops (a fake, an emulator, a server), usable as
    ``with X() as x:``: ``start()`` on entry, ``stop()`` on exit, whatever happened inside.

    ``start()`` returns the object; by default it does nothing (a server that listens
    as soon as it is built)."""

    def start(self) -> Self:
        return self

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class HttpFake(Lifecycle):
    """The shared machinery of a fake: subclasses set :attr:`services`, their service's error
    codes by status (used when :meth:`fail` is given none) and :meth:`error_body`."""

    error_codes: ClassVar[dict[int, str]] = _DEFAULT_CODES
    fallback_error_code: ClassVar[str] = "ServiceError"

    def __init__(self) -> None:
        self.requests: list[SentRequest] = []
        self.services: list[Service] = []
        self._faults: list[Fault] = []
        self._mock: responses.RequestsMock | None = None

    # ---- what users script and read --------------------------------------
    def fail(
        self,
        method: str,
        path_pattern: str,
        status: int,
        *,
        times: int = 1,
        code: str = "",
        message: str = "scripted failure",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` ``method`` requests whose path matches ``path_pattern``
        with ``status`` and the service's error ``code``."""
        self._faults.append(
            Fault(
                method.upper(),
                re.compile(path_pattern),
                status,
                times,
                code or self.error_codes.get(status, self.fallback_error_code),
                message,
                dict(headers or {}),
            )
        )

    def sent(self, method: str | None = None, contains: str = "") -> list[SentRequest]:
        """The requests sent so far: optionally one method's, and those whose URL holds a text."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and contains in r.url
        ]

    def error_body(self, status: int, code: str, message: str) -> Any:
        """The service's own error envelope (subclasses override)."""
        return {"error_code": code, "message": message}

    def error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Reply:
        return json_reply(status, self.error_body(status, code, message), headers)

    # ---- lifecycle ---------------------------------------------------------
    def start(self) -> Self:
        import responses

        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        mock.add_passthru(re.compile(r"http://(127\.0\.0\.1|localhost)[:/]"))
        for method in ("GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"):
            mock.add_callback(method, re.compile(r"https://.*"), callback=self._handle)
        mock.start()
        self._mock = mock
        return self

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock.reset()
            self._mock = None

    # ---- dispatch ----------------------------------------------------------
    def _handle(self, prepared: PreparedRequest) -> Reply:
        request = _record(prepared)
        self.requests.append(request)
        for fault in self._faults:
            if (
                fault.times > 0
                and fault.method == request.method
                and fault.pattern.search(request.path)
            ):
                fault.times -= 1
                return self.error(fault.status, fault.code, fault.message, fault.headers)
        for service in self.services:
            if service.claims(request):
                return service.answer(request)
        return self.error(404, "NoSuchHost", f"{type(self).__name__} does not serve {request.url}")


def _record(prepared: PreparedRequest) -> SentRequest:
    url = str(prepared.url)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    raw: Any = prepared.body
    if hasattr(raw, "read"):
        raw = raw.read()
    data = raw.encode() if isinstance(raw, str) else bytes(raw or b"")
    body: Any = None
    if data and "json" in str(prepared.headers.get("Content-Type", "")):
        try:
            body = json.loads(data)
        except ValueError:
            body = None
    headers = {str(k): str(v) for k, v in prepared.headers.items()}
    return SentRequest(
        str(prepared.method), url, parts.path, query, body, len(data), headers=headers, data=data
    )


def proto_double(value: float) -> float | str:
    """A double as MLflow's REST API (proto3 JSON) writes it: NaN and infinities quoted
    (``"NaN"``, ``"Infinity"``), as Azure ML's and Databricks' tracking servers send them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
