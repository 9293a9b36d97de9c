"""The packed layout: images as bytes in Parquet shards, one object per ~``shard_size_mb``.

Each shard has one row per image, columns ``label``, ``path``, ``md5``, ``width``,
``height`` and ``data`` (the image file's bytes, uncompressed since images already
are).  Shards hold consecutive runs of the manifest's records and are named
``shards/part-<i>-n<rows>-<md5>.parquet``: content-addressed, so an unchanged
shard is never sent twice and a listing verifies it; the row count maps records
to shards when reading.  Spark or a Databricks hive metastore table reads the
``shards/`` folder as is.

Shards are built one at a time in a temporary folder from batches of a few MB
and streamed to the store while the next one is built: memory stays bounded
whatever the dataset's size.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.datasets._transfer import bounded_map, transfer_bar
from cloudml_edu.errors import DatasetError
from cloudml_edu.manifest import ImageRecord, Manifest, parse_shard, shard_name
from cloudml_edu.storage.base import Store, file_md5

if TYPE_CHECKING:
    from cloudml_edu.datasets.sources import Source

__all__ = ["COLUMNS", "read_shards", "sync_shards"]

COLUMNS = ("label", "path", "md5", "width", "height", "data")
_BATCH_BYTES = 4 * 1024 * 1024


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("label", pa.string()),
            ("path", pa.string()),
            ("md5", pa.string()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("data", pa.binary()),
        ]
    )


def _groups(records: Sequence[ImageRecord], limit: int) -> list[list[ImageRecord]]:
    """Consecutive runs of records of at most ``limit`` bytes (at least one record each)."""
    groups: list[list[ImageRecord]] = [[]]
    size = 0
    for record in records:
        if groups[-1] and size + record.bytes > limit:
            groups.append([])
            size = 0
        groups[-1].append(record)
        size += record.bytes
    return [g for g in groups if g]


def _write_shard(source: Source, group: list[ImageRecord], path: Path) -> str:
    """Write ``group`` to ``path`` in batches; returns the file's MD5.  Each image is checked
    against its manifest MD5 as the source reads it (a file changed since it was scanned
    raises DatasetError)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    batch_bytes = 0
    # Image bytes are already compressed: Snappy would only spend CPU on them.
    compression = {name: "NONE" if name == "data" else "SNAPPY" for name in COLUMNS}
    with pq.ParquetWriter(
        path, schema, compression=compression, use_dictionary=["label"],
        write_statistics=["label", "path", "width", "height"],
    ) as writer:  # fmt: skip
        for record, data in source.iter_bytes(group):  # each checked against its MD5
            for name, value in zip(
                COLUMNS,
                (record.label, record.path, record.md5, record.width, record.height, data),
                strict=True,
            ):
                columns[name].append(value)
            batch_bytes += len(data)
            if batch_bytes >= _BATCH_BYTES:
                writer.write_table(pa.table(columns, schema=schema))
                columns = {name: [] for name in COLUMNS}
                batch_bytes = 0
        if columns["path"]:
            writer.write_table(pa.table(columns, schema=schema))
    return file_md5(path)


def sync_shards(
    source: Source,
    manifest: Manifest,
    store: Store,
    prefix: str,
    *,
    present: dict[str, str | None],
    reuse: Sequence[str],
    shard_bytes: int,
    progress: bool | None,
) -> tuple[Manifest, dict[str, str], dict[str, str]]:
    """Pack ``manifest.records`` into shards and send those the store lacks.

    ``present`` maps the keys already under ``prefix`` to their MD5s; ``reuse`` are
    the shards of an identical earlier upload, kept without rebuilding when all are
    present.  Returns the manifest with its ``shards``, the objects (key -> MD5)
    that must now be in the store, and the MD5s the store answered for those sent.
    """
    if reuse and all(present.get(f"{prefix}/{s}") == parse_shard(s)[1] for s in reuse):
        return (
            manifest.model_copy(update={"shards": tuple(reuse)}),
            {f"{prefix}/{s}": parse_shard(s)[1] for s in reuse},
            {},
        )
    groups = _groups(manifest.records, shard_bytes)
    with tempfile.TemporaryDirectory(prefix="cloudml-shards-") as tmp:

        def build() -> Iterator[tuple[list[ImageRecord], str, Path, str]]:
            for i, group in enumerate(groups):
                path = Path(tmp, f"{i:05d}.parquet")
                md5 = _write_shard(source, group, path)
                yield group, shard_name(i, len(group), md5), path, md5

        def send(
            item: tuple[list[ImageRecord], str, Path, str],
        ) -> tuple[list[ImageRecord], str, str, str | None]:
            group, name, path, md5 = item
            stored = None
            if present.get(f"{prefix}/{name}") != md5:
                stored = store.put_file(f"{prefix}/{name}", path, md5=md5)
            path.unlink()
            return group, name, md5, stored

        shards: dict[str, str] = {}
        sent: dict[str, str] = {}
        with transfer_bar("packing and uploading", manifest.records, progress=progress) as bar:
            # One shard uploads while the next is built: at most two shards on disk.
            for group, name, md5, stored in bounded_map(send, build(), workers=1):
                shards[name] = md5
                if stored is not None:
                    sent[f"{prefix}/{name}"] = stored
                bar(sum(r.bytes for r in group), len(group))
    wanted = {f"{prefix}/{name}": md5 for name, md5 in shards.items()}
    return manifest.model_copy(update={"shards": tuple(shards)}), wanted, sent


def read_shards(
    store: Store, prefix: str, manifest: Manifest, records: Sequence[ImageRecord]
) -> Iterator[tuple[ImageRecord, bytes]]:
    """Each of ``records`` with its bytes, in order, downloading only the shards that hold them.

    Shards are fetched one or two ahead and only the wanted rows are kept; memory
    holds the rows read but not yet yielded (one shard's worth when ``records``
    follow the manifest's order).
    """
    start = 0
    shard_of: dict[str, int] = {}
    for index, shard in enumerate(manifest.shards):
        rows, _ = parse_shard(shard)
        for record in manifest.records[start : start + rows]:
            shard_of[record.path] = index
        start += rows
    missing = [r.path for r in records if r.path not in shard_of]
    if missing:
        raise DatasetError(f"{missing[0]} is in no shard of {prefix}; upload the version again")
    needed = list(dict.fromkeys(shard_of[r.path] for r in records))
    wanted = {r.path for r in records}

    with tempfile.TemporaryDirectory(prefix="cloudml-read-") as tmp:

        def fetch(index: int) -> dict[str, bytes]:
            import pyarrow.parquet as pq

            local = Path(tmp, f"{index:05d}.parquet")
            store.download(f"{prefix}/{manifest.shards[index]}", local)
            found: dict[str, bytes] = {}
            try:
                for batch in pq.ParquetFile(local).iter_batches(columns=["path", "data"]):
                    for path, data in zip(
                        batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
                    ):
                        if path in wanted:
                            found[path] = data
            finally:
                local.unlink(missing_ok=True)
            return found

        ready: dict[str, bytes] = {}
        position = 0
        for found in bounded_map(fetch, needed, workers=1):
            ready.update(found)
            while position < len(records) and records[position].path in ready:
                record = records[position]
                yield record, ready.pop(record.path)
                position += 1
    if position < len(records):
        raise DatasetError(
            f"{records[position].path} is missing from the shards of {prefix}; upload the version again"
        )
