"""Start and stop the Azurite blob emulator for tests (the real Blob REST API on 127.0.0.1).

>>> with Azurite() as emulator:                      # doctest: +SKIP
...     store = BlobStore(connection_string=emulator.connection_string, container="data")

The binary is found through ``$AZURITE_BLOB``, then ``.ci/azurite/node_modules/.bin``
of the repository, then ``PATH``.  Each instance gets a free port and a fresh data
folder, removed on exit.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from cloudml_edu.errors import ConfigError, ServiceError, TimeoutError
from cloudml_edu.testing._http import Lifecycle

__all__ = ["ACCOUNT_KEY", "ACCOUNT_NAME", "Azurite", "dev_connection_string", "find_azurite"]

ACCOUNT_NAME = "devstoreaccount1"
# The emulator's well-known development key (published in Microsoft's Azurite documentation).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def find_azurite() -> Path:
    """The ``azurite-blob`` executable; raises ConfigError saying how to install it."""
    candidates: list[Path] = []
    if env := os.environ.get("AZURITE_BLOB"):
        candidates.append(Path(env))
    for parent in Path(__file__).resolve().parents:
        candidates.append(parent / ".ci" / "azurite" / "node_modules" / ".bin" / "azurite-blob")
    if found := shutil.which("azurite-blob"):
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ConfigError(
        "azurite-blob not found: run `npm install --prefix .ci/azurite` in the repository "
        "(or set AZURITE_BLOB to the azurite-blob executable)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dev_connection_string(account_url: str) -> str:
    """A connection string for Azurite's well-known development account at ``account_url``."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
        f"AccountKey={ACCOUNT_KEY};BlobEndpoint={account_url};"
    )


class Azurite(Lifecycle):
    """A running ``azurite-blob`` process; use as a context manager or call start/stop."""

    def __init__(self, *, port: int | None = None, startup_timeout: float = 30.0) -> None:
        self.port = port or _free_port()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._location: Path | None = None

    @property
    def account_url(self) -> str:
        """``http://127.0.0.1:<port>/devstoreaccount1``."""
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        """A connection string for the development account."""
        return dev_connection_string(self.account_url)

    def start(self) -> Self:
        """Launch the emulator and wait until it accepts connections."""
        binary = find_azurite()
        self._location = Path(tempfile.mkdtemp(prefix="azurite-"))
        self._process = subprocess.Popen(
            [
                str(binary),
                "--blobHost", "127.0.0.1",
                "--blobPort", str(self.port),
                "--location", str(self._location),
                "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                self.stop()
                raise ServiceError(f"azurite-blob exited at start: {error.strip()[:500]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(
            f"azurite-blob did not listen on port {self.port} within {self.startup_timeout} s"
        )

    def stop(self) -> None:
        """Stop the emulator and remove its data folder."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr:
                self._process.stderr.close()
            self._process = None
        if self._location is not None:
            shutil.rmtree(self._location, ignore_errors=True)
            self._location = None
