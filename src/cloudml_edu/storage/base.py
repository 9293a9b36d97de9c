"""The small protocol every object store implements.

Keys are ``/``-separated relative paths.  Content MD5s are lowercase hex; a
store reports the MD5 it recorded at upload time (Azure's ``Content-MD5``), which
is what incremental uploads compare against.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["ObjectInfo", "Store"]


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key, size in bytes and content MD5 (hex, or None if unknown)."""

    key: str
    size: int
    md5: str | None


@runtime_checkable
class Store(Protocol):
    """An object store: a local folder or a blob container."""

    @property
    def url(self) -> str:
        """Where the store lives, for display; never contains a secret."""
        ...

    @property
    def max_concurrency(self) -> int:
        """How many transfers the store handles well at once."""
        ...

    def info(self, key: str) -> ObjectInfo | None:
        """The object's size and MD5, or None when it does not exist."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``."""
        ...

    def put_file(self, key: str, path: Path, *, md5: str) -> None:
        """Upload a local file, streaming it, recording ``md5`` as its content MD5."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a small object in one call (manifests, markers)."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """Read a whole object; raises NotFoundError when missing."""
        ...

    def download(self, key: str, dest: Path) -> None:
        """Stream an object to a local file."""
        ...

    def delete(self, key: str) -> None:
        """Delete one object; succeeds when it is already gone."""
        ...
