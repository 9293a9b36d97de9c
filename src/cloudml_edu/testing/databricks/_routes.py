"""What the Databricks fake's services share: a route table, Databricks' error envelope and codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudml_edu.testing._http import Reply, SentRequest, json_reply

if TYPE_CHECKING:
    from cloudml_edu.testing.databricks import FakeDatabricks

__all__ = ["ERROR_CODES", "Routes", "error", "multipart"]

#: Databricks' ``error_code`` for an HTTP status, when a script names none.
ERROR_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_CONFLICT",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}

Handler = Callable[[SentRequest], Reply]


def error(status: int, code: str, message: str) -> Reply:
    """Databricks' error envelope."""
    return json_reply(status, {"error_code": code, "message": message})


class Routes:
    """A service of the fake: claims requests to the fake host whose (method, path) it routes."""

    def __init__(self, fake: FakeDatabricks) -> None:
        self.fake = fake
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern), handler))

    def _find(self, request: SentRequest) -> Handler | None:
        if not request.url.startswith(self.fake.host):
            return None
        for method, pattern, handler in self.routes:
            if method == request.method and pattern.fullmatch(request.path):
                return handler
        return None

    def claims(self, request: SentRequest) -> bool:
        return self._find(request) is not None

    def answer(self, request: SentRequest) -> Reply:
        handler = self._find(request)
        assert handler is not None
        return handler(request)


def multipart(request: SentRequest) -> dict[str, Any]:
    """The fields of a ``multipart/form-data`` body (``content`` stays bytes)."""
    content_type = request.headers.get("Content-Type", "")
    if "boundary=" not in content_type:
        return {}
    boundary = content_type.split("boundary=", 1)[1].encode()
    form: dict[str, Any] = {}
    for part in request.data.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        found = re.search(rb'name="([^"]+)"', head)
        if found:
            content = value.removesuffix(b"\r\n")
            key = found.group(1).decode()
            form[key] = content if key == "content" else content.decode()
    return form
