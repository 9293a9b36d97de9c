"""The small protocol every object store implements.

Keys are ``/``-separated relative paths.  Content MD5s are lowercase hex; a
store reports the MD5 it recorded at upload time (Azure's ``Content-MD5``), which
is what incremental uploads compare against.  A store knows nothing of datasets:
the key layout of a dataset version is in :mod:`cloudml_edu.manifest`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from cloudml_edu._paths import unsafe_reason, unsafe_relative
from cloudml_edu.errors import DatasetError

__all__ = ["ObjectInfo", "Store", "check_key", "check_md5", "file_md5"]


def check_key(key: str, *, store: str) -> str:
    """``key`` if it is a plain relative key (no ``..``, NUL, leading ``/``...), else
    UnsafePathError: a key built from data never reaches another folder of a store."""
    if unsafe_reason(key) is not None:
        raise unsafe_relative(key, source=f"object key in the store {store}")
    return key


def file_md5(path: Path) -> str:
    """The MD5 (hex) of a file, streamed."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "md5").hexdigest()


def check_md5(path: Path, actual: str, expected: str) -> None:
    """Raise DatasetError when a file about to be stored no longer hashes to its manifest MD5."""
    if actual != expected:
        raise DatasetError(
            f"{path} changed since the dataset was read (MD5 {actual} != {expected}); "
            "nothing was stored under its name. Read the folder again (Dataset.from_folder, "
            "or rerun `cloudml-edu dataset upload`) and upload",
            bad_files=[str(path)],
        )


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
    def identity(self) -> tuple[str, ...]:
        """What makes two stores the same place: kind plus root, or account and container."""
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

    def local_path(self, key: str) -> Path | None:
        """The file or folder ``key`` (or a key prefix) is on this machine; None for a remote store."""
        ...

    def put_file(self, key: str, path: Path, *, md5: str) -> str:
        """Upload a local file, streaming it, recording ``md5`` as its content MD5.

        The file must hash to ``md5`` (else DatasetError, object unchanged).  Returns the
        MD5 the store reports for what it stored, so a caller verifies without listing.
        """
        ...

    def put_bytes(self, key: str, data: bytes) -> str:
        """Write a small object in one call (manifests, markers); returns the stored MD5."""
        ...

    def put_new(self, key: str, data: bytes) -> bool:
        """Create a small object only if ``key`` does not exist yet, atomically (the
        store decides, not a check then a write); False when it already existed."""
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
