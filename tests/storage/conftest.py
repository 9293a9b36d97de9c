"""Fixtures for the blob storage tests: a real Azurite, a fault-injecting proxy, image folders."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.storage.retry import RetrySettings
from cloudml_edu.testing.azurite import Azurite
from cloudml_edu.testing.faults import FaultProxy

FAST_RETRY = RetrySettings(attempts=8, backoff=0.01, max_backoff=0.05)


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


def _write_pngs(root: Path, count: int, *, classes: int = 3, size: int = 8, seed: int = 0) -> Path:
    """``count`` distinct random grayscale PNGs in ``classes`` class folders under ``root``."""
    from PIL import Image

    rng = random.Random(seed)
    for i in range(count):
        folder = root / f"class{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.new("L", (size, size))
        image.putdata([rng.randrange(256) for _ in range(size * size)])
        image.save(folder / f"img{i:05d}.png")
    return root


@pytest.fixture
def fast_retry() -> RetrySettings:
    """Retries with millisecond backoff, so fault tests stay fast."""
    return FAST_RETRY


@pytest.fixture
def make_pngs() -> Callable[..., Path]:
    """``make_pngs(root, count, *, classes=3, size=8, seed=0)``: distinct random PNG class folders."""
    return _write_pngs


@pytest.fixture
def png_dir(tmp_path: Path) -> Path:
    """60 small distinct PNGs in 3 classes."""
    return _write_pngs(tmp_path / "pngs", 60)
