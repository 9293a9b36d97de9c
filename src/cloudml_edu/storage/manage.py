"""Manage dataset versions in a workspace's store: list, download, delete, share.

>>> from cloudml_edu import Workspace                                  # doctest: +SKIP
>>> from cloudml_edu.storage import list_versions, share_version
>>> ws = Workspace.from_config("cloudml.toml")
>>> for v in list_versions(ws): print(v.name, v.version, v.images, v.bytes)
>>> share_version(ws, "digits", version="1").url    # read-only, expires in an hour
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cloudml_edu.errors import ConfigError, DatasetError
from cloudml_edu.manifest import MANIFEST_NAME, ImageRecord
from cloudml_edu.storage.sync import (
    StoreSource,
    bounded_map,
    file_md5,
    open_dataset,
    read_manifest,
    transfer_bar,
    version_prefix,
)

if TYPE_CHECKING:
    from cloudml_edu.dataset import Dataset
    from cloudml_edu.workspace import Workspace

__all__ = [
    "SharedVersion",
    "VersionInfo",
    "delete_version",
    "download_dataset",
    "download_version",
    "list_versions",
    "share_version",
]


@dataclass(frozen=True)
class VersionInfo:
    """One dataset version in a store; ``complete`` is False for an unfinished upload."""

    owner: str
    name: str
    version: str
    complete: bool
    layout: str | None
    images: int | None
    objects: int
    bytes: int
    created: datetime | None


@dataclass(frozen=True)
class SharedVersion:
    """Read-only SAS URLs of a version: ``url`` for its manifest, ``urls`` for every object
    (keyed by its path inside the version), all valid until ``expires``."""

    url: str
    urls: dict[str, str]
    expires: datetime


def list_versions(workspace: Workspace, *, all_owners: bool = False) -> list[VersionInfo]:
    """Dataset versions in the workspace's store (this owner's, or everyone's), with sizes."""
    store = workspace.store
    totals: dict[tuple[str, str, str], list[int]] = {}
    for info in store.list("" if all_owners else f"{workspace.owner}/"):
        parts = info.key.split("/", 3)
        if len(parts) == 4:
            count = totals.setdefault((parts[0], parts[1], parts[2]), [0, 0])
            count[0] += 1
            count[1] += info.size
    found = []
    for (owner, name, version), (objects, size) in sorted(totals.items()):
        manifest = read_manifest(store, version_prefix(owner, name, version))
        found.append(
            VersionInfo(
                owner=owner,
                name=name,
                version=version,
                complete=manifest is not None,
                layout=manifest.layout if manifest else None,
                images=len(manifest.records) if manifest else None,
                objects=objects,
                bytes=size,
                created=manifest.created if manifest else None,
            )
        )
    return found


def download_dataset(
    dataset: Dataset, dest: str | os.PathLike[str], *, progress: bool | None = None
) -> Dataset:
    """Write ``dataset``'s images under ``dest/<label>/<file>``, each verified by MD5.

    Files already in ``dest`` with the right MD5 are kept, so an interrupted download
    resumes.  Returns the dataset read from ``dest``.
    """
    from cloudml_edu.dataset import Dataset, FolderSource

    root = Path(dest).resolve()
    todo = [r for r in dataset.records if not _has(root, r)]
    source = dataset.source

    def check(record: ImageRecord, target: Path) -> int:
        if file_md5(target) != record.md5:
            target.unlink()
            raise DatasetError(
                f"{record.path} arrived corrupted (MD5 mismatch); run the download again",
                bad_files=[record.path],
            )
        return record.bytes

    def fetch(record: ImageRecord) -> int:
        target = _target(root, record)
        assert isinstance(source, StoreSource)
        source.store.download(source.key_of(record), target)
        return check(record, target)

    def write(item: tuple[ImageRecord, bytes]) -> int:
        record, data = item
        target = _target(root, record)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        partial.replace(target)
        return check(record, target)

    if isinstance(source, StoreSource) and source.layout == "files":
        done = bounded_map(fetch, todo, workers=source.store.max_concurrency)
    else:
        done = bounded_map(write, source.iter_bytes(todo), workers=4)
    with transfer_bar("downloading", todo, progress=progress) as bar:
        for nbytes in done:
            bar(nbytes, 1)
    return Dataset(dataset.manifest, FolderSource(root))


def _target(root: Path, record: ImageRecord) -> Path:
    target = (root / record.path).resolve()
    if root not in target.parents:
        raise DatasetError(f"{record.path!r} escapes the download folder", bad_files=[record.path])
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _has(root: Path, record: ImageRecord) -> bool:
    target = root / record.path
    return (
        target.is_file()
        and target.stat().st_size == record.bytes
        and file_md5(target) == record.md5
    )


def download_version(
    workspace: Workspace,
    name: str,
    dest: str | os.PathLike[str],
    *,
    version: str = "1",
    progress: bool | None = None,
) -> Dataset:
    """Download a complete version of this owner's dataset ``name`` to ``dest`` (concurrent, verified)."""
    dataset = open_dataset(workspace.store, version_prefix(workspace.owner, name, version))
    return download_dataset(dataset, dest, progress=progress)


def delete_version(
    workspace: Workspace, name: str, *, version: str, progress: bool | None = None
) -> int:
    """Delete a version: its manifest first (so it stops loading at once), then every object.

    Also forgets it in the catalog.  Succeeds when it is already gone; returns the
    number of objects deleted.
    """
    store = workspace.store
    prefix = version_prefix(workspace.owner, name, version)
    store.delete(f"{prefix}/{MANIFEST_NAME}")
    keys = [info.key for info in store.list(f"{prefix}/")]
    from cloudml_edu._progress import track

    with track(f"deleting {prefix}", total=len(keys), progress=progress if keys else False) as bar:
        for _ in bounded_map(store.delete, keys, workers=store.max_concurrency):
            bar.advance()
    with suppress(ConfigError):  # a name that is not a valid table name was never registered
        workspace.catalog.delete(name, version=version, schema=workspace.schema)
    return len(keys)


def share_version(
    workspace: Workspace, name: str, *, version: str, expires_in: timedelta = timedelta(hours=1)
) -> SharedVersion:
    """Read-only SAS URLs for a complete version, valid for ``expires_in`` (Azure Blob only).

    Blob SAS cannot be scoped to a folder on a flat-namespace account, so each object
    gets its own URL; none of them allows writing, listing or deleting.
    """
    store = workspace.store
    read_urls = getattr(store, "read_urls", None)
    if read_urls is None:
        raise ConfigError(
            f"sharing needs [storage] kind = 'azure_blob'; this workspace stores datasets in {store.url}"
        )
    prefix = version_prefix(workspace.owner, name, version)
    dataset = open_dataset(store, prefix)
    source = dataset.source
    assert isinstance(source, StoreSource)
    if source.layout == "parquet":
        keys = [f"{prefix}/{shard}" for shard in dataset.manifest.shards]
    else:
        keys = [source.key_of(r) for r in dataset.records]
    manifest_key = f"{prefix}/{MANIFEST_NAME}"
    urls, expires = read_urls([manifest_key, *keys], expires_in=expires_in)
    relative = {key.removeprefix(prefix + "/"): url for key, url in urls.items()}
    return SharedVersion(url=urls[manifest_key], urls=relative, expires=expires)
