"""The dataset manifest: one record per image, with its label and content hash.

The manifest is the dataset's identity.  In a store it is written last, as
``_manifest.json``: a version without it is an unfinished upload and is never loaded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ImageRecord", "Manifest"]

MANIFEST_NAME = "_manifest.json"
Layout = Literal["files", "parquet"]


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
