"""The dataset manifest (one record per image, with its label and content hash) and
the key layout of a dataset version in a store.

The manifest is the dataset's identity.  In a store it is written last, as
``_manifest.json``: a version without it is an unfinished upload and is never loaded::

    <owner>/<name>/<version>/files/<label>/<image>              layout "files"
    <owner>/<name>/<version>/shards/part-<i>-n<rows>-<md5>.parquet   layout "parquet"
    <owner>/<name>/<version>/_manifest.json                     written last
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudml_edu.errors import DatasetError

__all__ = [
    "MANIFEST_NAME",
    "ImageRecord",
    "Layout",
    "Manifest",
    "file_key",
    "manifest_key",
    "parse_shard",
    "shard_name",
    "version_prefix",
]

MANIFEST_NAME = "_manifest.json"
Layout = Literal["files", "parquet"]
_SHARD_NAME = re.compile(r"^shards/part-\d{5}-n(\d+)-([0-9a-f]{32})\.parquet$")


class ImageRecord(BaseModel):
    """One image: relative path (``<label>/<file>``), label, size, MD5 and decoded shape."""

    model_config = ConfigDict(frozen=True)

    path: str
    label: str
    bytes: int = Field(ge=1)
    md5: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    mode: str


class Manifest(BaseModel):
    """Every image of a dataset version, plus how it is laid out in the store."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str = ""
    owner: str = ""
    layout: Layout = "files"
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    records: tuple[ImageRecord, ...]
    shards: tuple[str, ...] = ()

    @property
    def classes(self) -> list[str]:
        """Sorted class labels."""
        return sorted({record.label for record in self.records})

    @property
    def total_bytes(self) -> int:
        return sum(record.bytes for record in self.records)

    def counts(self) -> dict[str, int]:
        """Number of images per class."""
        counted = Counter(record.label for record in self.records)
        return {label: counted[label] for label in self.classes}

    def fingerprint(self) -> str:
        """A hash of paths and contents: equal for equal datasets, whatever their location."""
        digest = hashlib.sha256()
        for record in sorted(self.records, key=lambda r: r.path):
            digest.update(f"{record.path}\0{record.md5}\n".encode())
        return digest.hexdigest()[:16]


# ---- where a version's objects live in a store ------------------------------
def version_prefix(owner: str, name: str, version: str) -> str:
    """``<owner>/<name>/<version>``: where one dataset version lives in a store."""
    return f"{owner}/{name}/{version}"


def manifest_key(prefix: str) -> str:
    """The key of a version's manifest (its presence marks the version complete)."""
    return f"{prefix}/{MANIFEST_NAME}"


def file_key(prefix: str, path: str) -> str:
    """The key of one image (``<label>/<file>``) in the "files" layout."""
    return f"{prefix}/files/{path}"


def shard_name(index: int, rows: int, md5: str) -> str:
    """A shard's name inside its version: content-addressed, with its row count."""
    return f"shards/part-{index:05d}-n{rows}-{md5}.parquet"


def parse_shard(name: str) -> tuple[int, str]:
    """(rows, md5) of a shard name made by :func:`shard_name`."""
    found = _SHARD_NAME.match(name)
    if found is None:
        raise DatasetError(
            f"unexpected shard name {name!r} in the manifest; upload the version again"
        )
    return int(found.group(1)), found.group(2)
