"""Manage dataset versions in a workspace's store: list, download, delete, share.

>>> from cloudml_edu import Workspace                                  # doctest: +SKIP
>>> from cloudml_edu.datasets import list_versions, share_version
>>> ws = Workspace.from_config("cloudml.toml")
>>> for v in list_versions(ws): print(v.name, v.version, v.images, v.bytes)
>>> share_version(ws, "digits", version="1").url    # read-only, expires in an hour
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cloudml_edu._checks import check_flag
from cloudml_edu._progress import track
from cloudml_edu.datasets._transfer import bounded_map
from cloudml_edu.datasets.core import Dataset, open_dataset
from cloudml_edu.datasets.lineage import runs_using
from cloudml_edu.datasets.upload import read_manifest
from cloudml_edu.errors import CloudMLError, ConfigError, ConflictError, NotFoundError
from cloudml_edu.manifest import check_name, check_version, file_key, manifest_key, version_prefix

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = [
    "SharedVersion",
    "VersionInfo",
    "delete_version",
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
        try:
            manifest = read_manifest(store, version_prefix(owner, name, version))
        except CloudMLError as exc:  # one unsafe manifest never hides the other versions
            log.warning("%s/%s/%s is listed as unusable: %s", owner, name, version, exc)
            manifest = None
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


def download_version(
    workspace: Workspace,
    name: str,
    dest: str | os.PathLike[str],
    *,
    version: str = "1",
    progress: bool | None = None,
) -> Dataset:
    """Download a complete version of this owner's dataset ``name`` to ``dest`` (concurrent, verified)."""
    check_name(name)
    check_version(version)
    dataset = open_dataset(workspace.store, version_prefix(workspace.owner, name, version))
    return dataset.download(dest, progress=progress)


def delete_version(
    workspace: Workspace,
    name: str,
    *,
    version: str,
    force: bool = False,
    progress: bool | None = None,
) -> int:
    """Delete a version: its manifest first (so it stops loading at once), then every object.

    Also forgets it in the catalog; returns the number of objects deleted besides the
    manifest.  A version
    a run trained on is kept unless ``force=True`` (the runs are named, and warned
    about when forced); one that is not there raises :class:`NotFoundError`.
    """
    check_name(name)
    check_version(version)
    check_flag(force, name="force")
    store = workspace.store
    prefix = version_prefix(workspace.owner, name, version)
    keys = [info.key for info in store.list(f"{prefix}/")]
    if not keys:
        raise NotFoundError(
            f"dataset {name} version {version} is not in {store.url} (already deleted?); "
            "`cloudml-edu dataset list` shows the versions there are"
        )
    used = runs_using(workspace, prefix)
    if used:
        shown = ", ".join(r[:8] for r in used[:10]) + (", ..." if len(used) > 10 else "")
        what = f"dataset {name} version {version} was used by {len(used)} run(s) ({shown})"
        if not force:
            lost = f"{what}; deleting it leaves them unreproducible. Nothing was deleted. "
            raise ConflictError(
                lost + "Pass force=True to delete it anyway",
                cli_message=lost + "Pass --force to delete it anyway",
            )
        log.warning("%s; deleting it anyway (force): they can no longer be retrained", what)
    if manifest_key(prefix) in keys:
        store.delete(manifest_key(prefix))
        keys.remove(manifest_key(prefix))
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
    check_name(name)
    check_version(version)
    store = workspace.store
    read_urls = getattr(store, "read_urls", None)
    if read_urls is None:
        raise ConfigError(
            f"sharing needs [storage] kind = 'azure_blob'; this workspace stores datasets in {store.url}"
        )
    prefix = version_prefix(workspace.owner, name, version)
    manifest = open_dataset(store, prefix).manifest
    if manifest.layout == "parquet":
        keys = [f"{prefix}/{shard}" for shard in manifest.shards]
    else:
        keys = [file_key(prefix, r.path) for r in manifest.records]
    urls, expires = read_urls([manifest_key(prefix), *keys], expires_in=expires_in)
    relative = {key.removeprefix(prefix + "/"): url for key, url in urls.items()}
    return SharedVersion(url=urls[manifest_key(prefix)], urls=relative, expires=expires)
