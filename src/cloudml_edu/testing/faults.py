"""A fault-injecting HTTP proxy for tests of code that talks to Azurite (or any HTTP service).

>>> with Azurite() as emulator, FaultProxy(upstream_port=emulator.port) as proxy:  # doctest: +SKIP
...     proxy.fault = lambda seen: 503 if seen.method == "PUT" else None
...     store = BlobStore(connection_string=proxy.connection_string, container="x")

Every request is recorded in ``proxy.seen``; ``fault`` may answer a status code (429
comes with ``Retry-After: 1``), ``"reset"`` (the connection is closed with a TCP RST) or
``"hang"`` (the request is read and never answered, as from a server stopped with
SIGSTOP) instead of forwarding.  :class:`SilentServer` accepts connections and never
answers anything.  Standard library only.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from cloudml_edu.testing._http import Lifecycle
from cloudml_edu.testing.azurite import ACCOUNT_NAME, dev_connection_string

__all__ = ["Fault", "FaultProxy", "Seen", "SilentServer"]


@dataclass
class Seen:
    """One request that reached the proxy."""

    method: str
    path: str
    at: float
    status: int | str


Fault = Callable[["Seen"], int | str | None]  # a status, "reset", "hang", or None to forward


@dataclass
class FaultProxy(Lifecycle):
    """A threaded HTTP proxy in front of Azurite that records requests and injects faults."""

    upstream_port: int
    fault: Fault | None = None
    on_forwarded: Callable[[Seen], None] | None = None
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        proxy = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _upstream(self) -> http.client.HTTPConnection:
                if getattr(local, "conn", None) is None:
                    local.conn = http.client.HTTPConnection(
                        "127.0.0.1", proxy.upstream_port, timeout=30
                    )
                conn: http.client.HTTPConnection = local.conn
                return conn

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                entry = Seen(self.command, unquote(urlsplit(self.path).path), time.monotonic(), 0)
                decision = proxy.fault(entry) if proxy.fault else None
                if decision == "hang":
                    entry.status = "hang"
                    proxy.record(entry)
                    proxy._closing.wait()  # until the proxy closes: the client must give up first
                    self.close_connection = True
                    return
                if decision == "reset":
                    entry.status = "reset"
                    proxy.record(entry)
                    # SO_LINGER 0: close with a TCP RST, as a dropped connection looks to the client.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(decision, int):
                    entry.status = decision
                    proxy.record(entry)
                    payload = b"<?xml version='1.0'?><Error><Code>ServerBusy</Code><Message>injected fault</Message></Error>"
                    self.send_response(decision)
                    if decision == 429:
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload if self.command != "HEAD" else b"")
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}
                }
                conn = self._upstream()
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException):
                    local.conn = None
                    raise
                entry.status = response.status
                proxy.record(entry)
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                if proxy.on_forwarded is not None:
                    proxy.on_forwarded(entry)

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def record(self, entry: Seen) -> None:
        with self._lock:
            self.seen.append(entry)

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        return dev_connection_string(self.account_url)

    def puts(self, prefix: str) -> list[str]:
        """Blob keys under ``prefix`` that were PUT and forwarded successfully, in order."""
        start = f"/{ACCOUNT_NAME}/"
        with self._lock:
            return [
                s.path.removeprefix(start).split("/", 1)[1]
                for s in self.seen
                if s.method == "PUT" and s.status == 201 and s.path.startswith(start)
                and "/" in s.path.removeprefix(start)
                and s.path.removeprefix(start).split("/", 1)[1].startswith(prefix)
            ]  # fmt: skip

    def stop(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    close = stop  # as socket servers name it


class SilentServer(Lifecycle):
    """A TCP server on 127.0.0.1 that accepts every connection, reads what is sent, never answers.

    What a client sees of a service that hangs after the handshake: only its read
    timeout ends the wait.  ``connections`` counts accepted connections (each retry
    opens one after a timeout).
    """

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self.connections = 0
        self._open: list[socket.socket] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def account_url(self) -> str:
        return f"{self.url}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        return dev_connection_string(self.account_url)

    def _serve(self) -> None:
        while not self._closing.is_set():
            for conn in self._open:  # drain what clients send: uploads wait on us, not on TCP
                try:
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass
            try:
                accepted, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.setblocking(False)
            self.connections += 1
            self._open.append(accepted)

    def stop(self) -> None:
        self._closing.set()
        self._thread.join(timeout=5)
        for conn in self._open:
            conn.close()
        self._sock.close()

    close = stop  # as socket servers name it
