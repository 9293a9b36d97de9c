"""Fixtures for the blob storage tests: a real Azurite, a fault-injecting proxy, image folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from blobkit import FAST_RETRY, FaultProxy, write_pngs

from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.testing.azurite import Azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite blob emulator for the whole session (fails if azurite-blob is missing)."""
    with Azurite() as emulator:
        yield emulator


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    """A fresh fault-injecting proxy in front of the session's Azurite (no faults by default)."""
    server = FaultProxy(upstream_port=azurite.port)
    yield server
    server.close()


@pytest.fixture
def container_name(request: pytest.FixtureRequest) -> str:
    """A container name unique to the test."""
    return f"t{abs(hash(request.node.nodeid)) % 10**10:010d}"


@pytest.fixture
def make_store(container_name: str) -> Iterator[Callable[..., BlobStore]]:
    """Build BlobStores for the test's container with fast retries; closes them afterwards."""
    made: list[BlobStore] = []

    def make(connection_string: str, **options: Any) -> BlobStore:
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("container", container_name)
        store = BlobStore(connection_string=connection_string, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def png_dir(tmp_path: Path) -> Path:
    """60 small distinct PNGs in 3 classes."""
    return write_pngs(tmp_path / "pngs", 60)
