"""Upload a dataset version to a store and read it back: incremental, resumable, atomic.

Layout of a version in a store::

    <owner>/<name>/<version>/files/<label>/<image>    one object per image ("files" layout)
    <owner>/<name>/<version>/_manifest.json           written last: the version is complete

An upload first withdraws an out-of-date manifest, sends only objects whose
MD5 differs, verifies every object by listing, removes stale ones, and writes
the manifest last.  Interrupted anywhere, the version has no manifest and is
never loaded; a rerun sends only what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from cloudml_edu._progress import track
from cloudml_edu.errors import CloudMLError, ConfigError, NotFoundError, ServiceError
from cloudml_edu.manifest import MANIFEST_NAME, ImageRecord, Manifest
from cloudml_edu.storage.base import Store

if TYPE_CHECKING:
    from cloudml_edu.dataset import Dataset

__all__ = ["StoreSource", "open_dataset", "upload_dataset", "version_prefix"]

log = logging.getLogger(__name__)


def version_prefix(owner: str, name: str, version: str) -> str:
    """``<owner>/<name>/<version>``: where one dataset version lives in a store."""
    return f"{owner}/{name}/{version}"


class StoreSource:
    """A complete dataset version in a store."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    @property
    def location(self) -> str:
        return f"{self.store.url}/{self.prefix}"

    def key_of(self, record: ImageRecord) -> str:
        return f"{self.prefix}/files/{record.path}"

    def iter_bytes(self, records: Sequence[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes]]:
        with ThreadPoolExecutor(max_workers=self.store.max_concurrency) as pool:
            yield from zip(records, pool.map(lambda r: self.store.get_bytes(self.key_of(r)), records))


def _read_manifest(store: Store, prefix: str) -> Manifest | None:
    try:
        return Manifest.model_validate_json(store.get_bytes(f"{prefix}/{MANIFEST_NAME}"))
    except NotFoundError:
        return None


def open_dataset(store: Store, prefix: str) -> Dataset:
    """The complete version at ``prefix``; raises NotFoundError for a missing or unfinished one."""
    from cloudml_edu.dataset import Dataset

    manifest = _read_manifest(store, prefix)
    if manifest is None:
        raise NotFoundError(
            f"no complete dataset at {store.url}/{prefix}: the upload never finished or the "
            "version was deleted; run Dataset.upload(...) again (it resumes)"
        )
    return Dataset(manifest, StoreSource(store, prefix))


def upload_dataset(
    dataset: Dataset, manifest: Manifest, store: Store, *, progress: bool | None = None
) -> Dataset:
    """Sync ``dataset``'s images to ``store`` as ``manifest`` describes, then write the manifest."""
    if manifest.layout != "files":
        raise ConfigError(f"layout {manifest.layout!r} is not supported by this store yet; use 'files'")
    prefix = version_prefix(manifest.owner, manifest.name, manifest.version)
    source = StoreSource(store, prefix)
    previous = _read_manifest(store, prefix)
    if previous is not None and previous.fingerprint() == manifest.fingerprint():
        manifest = previous
    elif previous is not None:
        log.info("%s changed: withdrawing its manifest until the new upload is verified", prefix)
        store.delete(f"{prefix}/{MANIFEST_NAME}")

    present = {info.key: info.md5 for info in store.list(f"{prefix}/files/")}
    todo = [r for r in manifest.records if present.get(source.key_of(r)) != r.md5]
    log.info("%s: %d of %d images to send", prefix, len(todo), len(manifest.records))
    _send(dataset, todo, source, progress=progress)

    after = {info.key: info.md5 for info in store.list(f"{prefix}/files/")}
    unverified = [r.path for r in manifest.records if after.get(source.key_of(r)) != r.md5]
    if unverified:
        raise ServiceError(
            f"{len(unverified)} image(s) did not verify in {store.url} (e.g. {unverified[0]}); "
            "the version is left incomplete: run the upload again"
        )
    wanted = {source.key_of(r) for r in manifest.records}
    for stale in sorted(set(after) - wanted):
        store.delete(stale)
    store.put_bytes(f"{prefix}/{MANIFEST_NAME}", manifest.model_dump_json(indent=1).encode())
    from cloudml_edu.dataset import Dataset

    return Dataset(manifest, source)


def _send(
    dataset: Dataset, todo: list[ImageRecord], dest: StoreSource, *, progress: bool | None
) -> None:
    from cloudml_edu.dataset import FolderSource

    if not todo:
        return
    origin = dataset.source
    total = sum(r.bytes for r in todo)

    def put(record: ImageRecord, data: bytes | None) -> int:
        key = dest.key_of(record)
        if isinstance(origin, FolderSource):
            dest.store.put_file(key, origin.path_of(record), md5=record.md5)
        else:
            assert data is not None
            dest.store.put_bytes(key, data)
        return record.bytes

    with (
        track(f"uploading {len(todo)} images", total=total, transfer=True, progress=progress) as bar,
        ThreadPoolExecutor(max_workers=dest.store.max_concurrency) as pool,
    ):
        if isinstance(origin, FolderSource):
            jobs = [pool.submit(put, r, None) for r in todo]
        else:
            jobs = [pool.submit(put, r, data) for r, data in origin.iter_bytes(todo)]
        try:
            for job in jobs:
                bar.advance(job.result())
        except CloudMLError:
            for job in jobs:
                job.cancel()
            raise


