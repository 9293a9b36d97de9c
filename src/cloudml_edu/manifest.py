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
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloudml_edu._paths import unsafe_reason, unsafe_relative
from cloudml_edu.errors import ConfigError, DatasetError

__all__ = [
    "MANIFEST_NAME",
    "ImageRecord",
    "Layout",
    "Manifest",
    "check_layout",
    "check_name",
    "check_version",
    "claim_key",
    "file_key",
    "manifest_key",
    "parse_shard",
    "shard_name",
    "version_prefix",
]

MANIFEST_NAME = "_manifest.json"
CLAIM_NAME = "_upload.json"
Layout = Literal["files", "parquet"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_SHARD_NAME = re.compile(r"^shards/part-\d{5}-n(\d+)-([0-9a-f]{32})\.parquet\Z")


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

    @model_validator(mode="after")
    def _paths_stay_inside(self) -> Manifest:
        """Every record's path (``<label>/<file>``), label and shard name stays inside the
        version: a hand-edited or shared manifest cannot name a file elsewhere.

        Raises :class:`~cloudml_edu.errors.UnsafePathError` (not a ValidationError: the
        manifest is readable, and wrong) naming the dataset, version and record.
        """
        for index, record in enumerate(self.records):
            source = f"{self.describe()}, record {index} (label {record.label!r})"
            if unsafe_reason(record.path) is not None:
                raise unsafe_relative(record.path, source=source)
            if unsafe_reason(record.label) is not None or "/" in record.label:
                raise unsafe_relative(record.label, source=f"{self.describe()}, record {index}")
        for index, shard in enumerate(self.shards):
            if _SHARD_NAME.match(shard) is None or unsafe_reason(shard) is not None:
                raise unsafe_relative(shard, source=f"{self.describe()}, shard {index}")
        return self

    def describe(self) -> str:
        """``dataset <name> version <v>`` (and owner), as errors name it."""
        owner = f" of {self.owner}" if self.owner else ""
        return f"dataset {self.name!r} version {self.version or '?'}{owner}"

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


# ---- names, versions and layouts: one rule for the API, the CLI and the store -----
def check_name(name: object, *, argument: str = "name") -> str:
    """A dataset name: a letter or ``_``, then up to 62 letters, digits, ``_`` or ``-``.

    It is a folder in the store and, lower-cased with ``-`` as ``_``, a catalog table
    name; ``argument`` is what the caller calls it (``name``, ``--name``).
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{argument} {name!r} is not a valid dataset name: start with a letter or '_', then "
            "use up to 62 letters, digits, '_' or '-' (no spaces, dots or slashes), e.g. 'pets'"
        )
    return name


def check_version(version: object, *, argument: str = "version") -> str:
    """A dataset version: a letter or digit, then up to 31 letters, digits, ``.``, ``_`` or ``-``."""
    if not isinstance(version, str) or not _VERSION.match(version) or ".." in version:
        raise ConfigError(
            f"{argument} {version!r} is not a valid dataset version: use letters, digits, '.', "
            "'_' or '-' (no slashes, no '..'), starting with a letter or digit, e.g. '1' or '2.1'"
        )
    return version


def check_layout(layout: object, *, argument: str = "layout") -> Layout:
    """``"files"`` or ``"parquet"``."""
    choices: tuple[Layout, ...] = get_args(Layout)
    for choice in choices:
        if layout == choice:
            return choice
    raise ConfigError(
        f"{argument} {layout!r} is not a dataset layout: use "
        + " or ".join(repr(c) for c in choices)
    )


# ---- where a version's objects live in a store ------------------------------
def version_prefix(owner: str, name: str, version: str) -> str:
    """``<owner>/<name>/<version>``: where one dataset version lives in a store."""
    return f"{owner}/{name}/{version}"


def manifest_key(prefix: str) -> str:
    """The key of a version's manifest (its presence marks the version complete)."""
    return f"{prefix}/{MANIFEST_NAME}"


def claim_key(prefix: str) -> str:
    """The key of the marker an upload holds while it writes a version (see datasets.upload)."""
    return f"{prefix}/{CLAIM_NAME}"


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
