"""Upload a dataset version to a store and read it back: incremental, resumable, atomic.

Layout of a version in a store::

    <owner>/<name>/<version>/files/<label>/<image>    one object per image (layout "files")
    <owner>/<name>/<version>/shards/part-*.parquet    images packed in Parquet (layout "parquet")
    <owner>/<name>/<version>/_manifest.json           written last: the version is complete

An upload first withdraws an out-of-date manifest, sends only objects whose MD5
differs from what the store reports, verifies every object by listing, removes
stale ones, and writes the manifest last.  Interrupted anywhere (crash, Ctrl-C,
network), the version has no manifest and never loads; a rerun sends only what
is missing or different.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from cloudml_edu._progress import track
from cloudml_edu.errors import NotFoundError, ServiceError
from cloudml_edu.manifest import MANIFEST_NAME, ImageRecord, Layout, Manifest
from cloudml_edu.storage.base import Store

if TYPE_CHECKING:
    from cloudml_edu.dataset import Dataset

__all__ = [
    "StoreSource",
    "bounded_map",
    "file_md5",
    "open_dataset",
    "read_manifest",
    "transfer_bar",
    "upload_dataset",
    "version_prefix",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def version_prefix(owner: str, name: str, version: str) -> str:
    """``<owner>/<name>/<version>``: where one dataset version lives in a store."""
    return f"{owner}/{name}/{version}"


def file_md5(path: Path) -> str:
    """The MD5 (hex) of a file, read 1 MB at a time."""
    digest = hashlib.md5()
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def bounded_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int) -> Iterator[R]:
    """``fn`` over ``items`` on ``workers`` threads, results in order.

    At most ``2 * workers`` items are in flight, so memory stays bounded and an
    error or Ctrl-C stops the work quickly: queued items are cancelled, running
    ones finish.
    """
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class StoreSource:
    """A complete dataset version in a store, in either layout (from its ``manifest``)."""

    def __init__(self, store: Store, prefix: str, manifest: Manifest | None = None) -> None:
        self.store = store
        self.prefix = prefix
        self.manifest = manifest

    @property
    def layout(self) -> Layout:
        return self.manifest.layout if self.manifest is not None else "files"

    @property
    def location(self) -> str:
        return f"{self.store.url}/{self.prefix}"

    def key_of(self, record: ImageRecord) -> str:
        """The object key of one image in the "files" layout."""
        return f"{self.prefix}/files/{record.path}"

    def iter_bytes(self, records: Sequence[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes]]:
        """Each record with its bytes, in the given order."""
        if self.manifest is not None and self.manifest.layout == "parquet":
            from cloudml_edu.storage.packed import read_shards

            yield from read_shards(self.store, self.prefix, self.manifest, records)
            return
        reads = bounded_map(
            lambda r: self.store.get_bytes(self.key_of(r)),
            records,
            workers=self.store.max_concurrency,
        )
        yield from zip(records, reads, strict=True)


def read_manifest(store: Store, prefix: str) -> Manifest | None:
    """The manifest of the version at ``prefix``, or None when it is missing or unfinished."""
    try:
        return Manifest.model_validate_json(store.get_bytes(f"{prefix}/{MANIFEST_NAME}"))
    except NotFoundError:
        return None
    except ValidationError:
        log.warning(
            "%s/%s is unreadable: treating the version as unfinished", prefix, MANIFEST_NAME
        )
        return None


def open_dataset(store: Store, prefix: str) -> Dataset:
    """The complete version at ``prefix``; raises NotFoundError for a missing or unfinished one."""
    from cloudml_edu.dataset import Dataset

    manifest = read_manifest(store, prefix)
    if manifest is None:
        missing = (
            f"no complete dataset at {store.url}/{prefix}: the upload never finished or the "
            "version was deleted"
        )
        raise NotFoundError(
            f"{missing}; run Dataset.upload(...) again (it resumes)",
            cli_message=f"{missing}; run `cloudml-edu dataset upload` again (it resumes)",
        )
    return Dataset(manifest, StoreSource(store, prefix, manifest))


def upload_dataset(
    dataset: Dataset,
    manifest: Manifest,
    store: Store,
    *,
    progress: bool | None = None,
    shard_size_mb: int = 64,
) -> Dataset:
    """Sync ``dataset``'s images to ``store`` as ``manifest`` describes, then write the manifest.

    ``manifest.layout`` picks one object per image ("files") or Parquet shards of
    about ``shard_size_mb`` ("parquet").  Returns the dataset read from the store.
    """
    from cloudml_edu.dataset import Dataset

    prefix = version_prefix(manifest.owner, manifest.name, manifest.version)
    manifest_key = f"{prefix}/{MANIFEST_NAME}"
    previous = read_manifest(store, prefix)
    same = previous is not None and (previous.fingerprint(), previous.layout) == (
        manifest.fingerprint(),
        manifest.layout,
    )
    if previous is not None and not same:
        log.info("%s changed: withdrawing its manifest until the new upload is verified", prefix)
        store.delete(manifest_key)

    present = {info.key: info.md5 for info in store.list(f"{prefix}/")}
    if manifest.layout == "parquet":
        from cloudml_edu.storage.packed import sync_shards

        shards = previous.shards if same and previous is not None else ()
        manifest, wanted = sync_shards(
            dataset, manifest, store, prefix,
            present=present, reuse=shards, shard_bytes=shard_size_mb * 1024 * 1024, progress=progress,
        )  # fmt: skip
    else:
        source = StoreSource(store, prefix)
        wanted = {source.key_of(r): r.md5 for r in manifest.records}
        todo = [r for r in manifest.records if present.get(source.key_of(r)) != r.md5]
        log.info("%s: %d of %d images to send", prefix, len(todo), len(manifest.records))
        _send_files(dataset, todo, source, progress=progress)
    if same and previous is not None:
        manifest = previous.model_copy(update={"shards": manifest.shards})

    sent = any(present.get(key) != md5 for key, md5 in wanted.items())
    after = {info.key: info.md5 for info in store.list(f"{prefix}/")} if sent else present
    unverified = sorted(key for key, md5 in wanted.items() if after.get(key) != md5)
    if unverified:
        raise ServiceError(
            f"{len(unverified)} object(s) did not verify in {store.url} (e.g. {unverified[0]}); "
            "the version is left incomplete: run the upload again (it resumes)"
        )
    stale = sorted(set(after) - set(wanted) - {manifest_key})
    if stale and same:
        store.delete(manifest_key)  # the live manifest may name a stale shard: withdraw it first
    for _ in bounded_map(store.delete, stale, workers=store.max_concurrency):
        pass
    if sent or stale or not same:
        store.put_bytes(manifest_key, manifest.model_dump_json(indent=1).encode())
    return Dataset(manifest, StoreSource(store, prefix, manifest))


@contextmanager
def transfer_bar(
    verb: str, records: Sequence[ImageRecord], *, progress: bool | None
) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of bytes, rate and ETA labelled ``<verb> <done>/<total> files``;
    yields ``advance(nbytes, files)``."""
    files, done = len(records), 0
    total = sum(r.bytes for r in records)
    with track(f"{verb} 0/{files} files", total=total, transfer=True, progress=progress) as bar:

        def advance(nbytes: int, count: int) -> None:
            nonlocal done
            done += count
            bar.update(description=f"{verb} {done}/{files} files")
            bar.advance(nbytes)

        yield advance


def _send_files(
    dataset: Dataset, todo: Sequence[ImageRecord], dest: StoreSource, *, progress: bool | None
) -> None:
    from cloudml_edu.dataset import FolderSource

    if not todo:
        return
    origin = dataset.source
    store = dest.store
    if isinstance(origin, FolderSource):

        def put(record: ImageRecord) -> int:
            store.put_file(dest.key_of(record), origin.path_of(record), md5=record.md5)
            return record.bytes

        sent = bounded_map(put, todo, workers=store.max_concurrency)
    else:

        def put_data(item: tuple[ImageRecord, bytes]) -> int:
            store.put_bytes(dest.key_of(item[0]), item[1])
            return item[0].bytes

        sent = bounded_map(put_data, origin.iter_bytes(todo), workers=store.max_concurrency)
    with transfer_bar("uploading", todo, progress=progress) as bar:
        for nbytes in sent:
            bar(nbytes, 1)
