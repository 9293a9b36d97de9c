"""Upload a dataset version to a store: incremental, resumable, atomic.

The key layout is :mod:`cloudml_edu.manifest`'s.  An upload first withdraws an
out-of-date manifest, lists the version once, sends only objects whose MD5
differs from what the store reports, verifies every sent object from the MD5 the
store answered with, removes stale objects, and writes the manifest last.
Interrupted anywhere (crash, Ctrl-C, network), the version has no manifest and
never loads; a rerun sends only what is missing or different.

A complete version is never changed: an upload of other images to it raises
:class:`ConflictError` naming the next free version, before anything is written
(the same images in another layout are fine: the content stays the same).

Before anything else the upload claims the version: it creates ``_upload.json``
(the images' fingerprint) only if absent, which the store decides atomically.  A
second upload of *different* images to the same version meanwhile finds the claim
and raises :class:`ConflictError` before writing anything; one of the *same* images
goes ahead (it writes the same objects).  The claim is removed when the upload ends,
successfully or not; one left by a killed process is taken over after
:data:`STALE_CLAIM_SECONDS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

from pydantic import ValidationError

from cloudml_edu.datasets._transfer import bounded_map, transfer_bar
from cloudml_edu.datasets.sources import Source
from cloudml_edu.errors import (
    CloudMLError,
    ConflictError,
    DatasetError,
    NotFoundError,
    ServiceError,
)
from cloudml_edu.manifest import (
    MANIFEST_NAME,
    ImageRecord,
    Manifest,
    claim_key,
    file_key,
    manifest_key,
    version_prefix,
)
from cloudml_edu.storage.base import Store

__all__ = ["STALE_CLAIM_SECONDS", "claim_version", "read_manifest", "sync_version"]

log = logging.getLogger(__name__)

#: Age after which another upload's claim counts as left by a killed process.
STALE_CLAIM_SECONDS = 3600.0


def read_manifest(store: Store, prefix: str) -> Manifest | None:
    """The manifest of the version at ``prefix``, or None when it is missing or unfinished."""
    try:
        return Manifest.model_validate_json(store.get_bytes(manifest_key(prefix)))
    except NotFoundError:
        return None
    except ValidationError:
        log.warning(
            "%s/%s is unreadable: treating the version as unfinished", prefix, MANIFEST_NAME
        )
        return None


def sync_version(
    source: Source,
    manifest: Manifest,
    store: Store,
    *,
    progress: bool | None = None,
    shard_size_mb: int = 64,
) -> Manifest:
    """Sync ``source``'s images to ``store`` as ``manifest`` describes, then write the manifest.

    ``manifest.layout`` picks one object per image ("files") or Parquet shards of
    about ``shard_size_mb`` ("parquet").  Returns the manifest now in the store.
    """
    prefix = version_prefix(manifest.owner, manifest.name, manifest.version)
    with claim_version(store, prefix, manifest):
        return _sync(
            source, manifest, store, prefix, progress=progress, shard_size_mb=shard_size_mb
        )


@contextmanager
def claim_version(store: Store, prefix: str, manifest: Manifest) -> Iterator[None]:
    """Hold the version at ``prefix`` for an upload of ``manifest``'s images (see the module doc).

    Raises :class:`ConflictError`, having written nothing, while another upload of
    different images holds it.
    """
    key = claim_key(prefix)
    ours = f"{manifest.fingerprint()}:{manifest.layout}"
    now = datetime.now(UTC)
    body = json.dumps({"content": ours, "started": now.isoformat()}).encode()
    if not store.put_new(key, body):
        theirs = _read_claim(store, key)
        # released between our two calls: claim it once more
        if theirs is None and not store.put_new(key, body):
            theirs = _read_claim(store, key)
        if theirs is not None and theirs[0] != ours:
            started = theirs[1]
            if (now - started).total_seconds() < STALE_CLAIM_SECONDS:
                raise ConflictError(
                    f"another upload of different images to {prefix} started at "
                    f"{started:%Y-%m-%d %H:%M:%S} UTC and holds it; wait for it to finish "
                    "(`cloudml-edu dataset list` shows it complete), or upload to another "
                    "version. If no upload is running, delete the version "
                    "(`cloudml-edu dataset delete`) or retry after "
                    f"{STALE_CLAIM_SECONDS / 60:g} minutes"
                )
            log.warning("%s: taking over a claim from %s (a killed upload?)", prefix, started)
            store.put_bytes(key, body)
    try:
        yield
    finally:
        with suppress(CloudMLError):  # the upload's own error (if any) is the one to report
            store.delete(key)


def _read_claim(store: Store, key: str) -> tuple[str, datetime] | None:
    """(content fingerprint, start time) of the claim at ``key``; None when it is gone."""
    try:
        data = json.loads(store.get_bytes(key))
        return str(data["content"]), datetime.fromisoformat(data["started"])
    except NotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return "unreadable", datetime.fromtimestamp(0, UTC)  # stale: taken over


def _sync(
    source: Source,
    manifest: Manifest,
    store: Store,
    prefix: str,
    *,
    progress: bool | None,
    shard_size_mb: int,
) -> Manifest:
    """:func:`sync_version` once the version is claimed."""
    key = manifest_key(prefix)
    previous = read_manifest(store, prefix)
    if previous is not None and previous.fingerprint() != manifest.fingerprint():
        raise _version_taken(store, previous)
    same = previous is not None and previous.layout == manifest.layout
    if previous is not None and not same:
        log.info("%s changed: withdrawing its manifest until the new upload is verified", prefix)
        store.delete(key)

    claim = claim_key(prefix)
    present = {info.key: info.md5 for info in store.list(f"{prefix}/") if info.key != claim}
    if manifest.layout == "parquet":
        from cloudml_edu.datasets.packed import sync_shards

        shards = previous.shards if same and previous is not None else ()
        manifest, wanted, sent = sync_shards(
            source, manifest, store, prefix,
            present=present, reuse=shards, shard_bytes=shard_size_mb * 1024 * 1024, progress=progress,
        )  # fmt: skip
    else:
        wanted = {file_key(prefix, r.path): r.md5 for r in manifest.records}
        todo = [r for r in manifest.records if present.get(file_key(prefix, r.path)) != r.md5]
        log.info("%s: %d of %d images to send", prefix, len(todo), len(manifest.records))
        sent = _send_files(source, todo, store, prefix, progress=progress)
    if same and previous is not None:
        manifest = previous.model_copy(update={"shards": manifest.shards})

    stored = {**present, **sent}  # one listing, plus what the store answered for each upload
    unverified = sorted(k for k, md5 in wanted.items() if stored.get(k) != md5)
    if unverified:
        raise ServiceError(
            f"{len(unverified)} object(s) did not verify in {store.url} (e.g. {unverified[0]}); "
            "the version is left incomplete: run the upload again (it resumes)"
        )
    stale = sorted(set(present) - set(wanted) - {key})
    if stale and same:
        store.delete(key)  # the live manifest may name a stale shard: withdraw it first
    for _ in bounded_map(store.delete, stale, workers=store.max_concurrency):
        pass
    if sent or stale or not same:
        store.put_bytes(key, manifest.model_dump_json(indent=1).encode())
    return manifest


def _version_taken(store: Store, previous: Manifest) -> ConflictError:
    """The refusal to change a complete version: it names the next free version."""
    taken = {
        info.key.split("/")[2]
        for info in store.list(f"{previous.owner}/{previous.name}/")
        if info.key.count("/") >= 3
    }
    numbers = [int(v) for v in taken if v.isdigit()]
    free = str(max(numbers, default=1) + 1)
    while free in taken:
        free += ".1"
    what = (
        f"{previous.describe()} already holds other images (uploaded "
        f"{previous.created:%Y-%m-%d %H:%M} UTC); a complete version is never changed, so "
        "the runs trained on it stay reproducible. Nothing was written. Upload these images "
        "as a new version: "
    )
    return ConflictError(what + f"version={free!r}", cli_message=what + f"--version {free}")


def _send_files(
    source: Source,
    todo: Sequence[ImageRecord],
    store: Store,
    prefix: str,
    *,
    progress: bool | None,
) -> dict[str, str]:
    """Send ``todo`` (streamed from the local folder when there is one); returns key -> the
    MD5 the store answered."""
    if not todo:
        return {}
    folder = source.local_folder()
    if folder is not None:

        def put(record: ImageRecord) -> tuple[ImageRecord, str]:
            path = source.local_file(record)
            assert path is not None  # a source with a local folder has local files
            try:
                return record, store.put_file(file_key(prefix, record.path), path, md5=record.md5)
            except FileNotFoundError as exc:
                raise DatasetError(
                    f"{record.path} was deleted from {folder} during the upload; restore it "
                    "and upload again (the version stays incomplete until then)",
                    bad_files=[record.path],
                ) from exc

        done = bounded_map(put, todo, workers=store.max_concurrency)
    else:

        def put_data(item: tuple[ImageRecord, bytes]) -> tuple[ImageRecord, str]:
            return item[0], store.put_bytes(file_key(prefix, item[0].path), item[1])

        done = bounded_map(put_data, source.iter_bytes(todo), workers=store.max_concurrency)
    sent: dict[str, str] = {}
    with transfer_bar("uploading", todo, progress=progress) as bar:
        for record, md5 in done:
            sent[file_key(prefix, record.path)] = md5
            bar(record.bytes, 1)
    return sent
