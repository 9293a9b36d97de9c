"""Where a dataset's bytes are read from: a local folder, or a complete version in a store.

A source answers the questions the rest of the library asks, instead of being
type-checked: where its files are on this machine (:meth:`Source.local_folder`),
which store and key prefix it is a complete version at (:meth:`Source.stored_at`), and
what its files hold now (:meth:`Source.current`, run before an upload).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from cloudml_edu.datasets._transfer import bounded_map
from cloudml_edu.datasets.scan import Stamp, scan_file, stamp_of
from cloudml_edu.errors import DatasetError
from cloudml_edu.manifest import ImageRecord, Layout, Manifest, file_key
from cloudml_edu.storage.base import Store, file_md5

__all__ = ["FolderSource", "Source", "StoreSource"]

log = logging.getLogger(__name__)


class Source(Protocol):
    """Where a dataset's bytes are read from."""

    @property
    def location(self) -> str:
        """Where the bytes are, for display (a path or a store URL; never a secret)."""
        ...

    def local_folder(self) -> Path | None:
        """The folder holding the images as ``<label>/<file>`` on this machine, or None."""
        ...

    def stored_at(self) -> tuple[Store, str] | None:
        """The store and key prefix of this complete version, or None (a local folder)."""
        ...

    def current(self, records: Sequence[ImageRecord]) -> tuple[ImageRecord, ...]:
        """``records`` as the source holds them now: a file changed since it was read is
        read again (new MD5, size, shape); a missing or unusable one raises DatasetError."""
        ...

    def iter_bytes(self, records: Sequence[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes]]:
        """Yield each record with its image bytes, in the given order."""
        ...


class FolderSource:
    """Images under a local folder, one sub-folder per class.

    ``stamps`` are each file's (size, mtime_ns) when it was read; without them,
    :meth:`current` hashes every file to notice a change.
    """

    def __init__(self, root: Path, stamps: Mapping[str, Stamp] | None = None) -> None:
        self.root = root
        self._stamps = dict(stamps or {})

    @property
    def location(self) -> str:
        return str(self.root)

    def local_folder(self) -> Path:
        return self.root

    def stored_at(self) -> None:
        return None

    def current(self, records: Sequence[ImageRecord]) -> tuple[ImageRecord, ...]:
        fresh: list[ImageRecord] = []
        problems: list[str] = []
        for record in records:
            path = self.root / record.path
            try:
                unchanged = self._unchanged(record, path)
            except FileNotFoundError:
                problems.append(f"{record.path}: deleted since the dataset was read")
                continue
            if unchanged:
                fresh.append(record)
                continue
            again, problem, stamp = scan_file(self.root, record.path)
            if again is None:
                problems.append(problem or record.path)
                continue
            log.info("%s changed since the dataset was read: read it again", record.path)
            self._stamps[record.path] = stamp
            fresh.append(again)
        if problems:
            listing = "\n  ".join(problems)
            raise DatasetError(
                f"{len(problems)} file(s) in {self.root} changed since the dataset was read; "
                f"nothing was uploaded:\n  {listing}\n"
                "Restore them, or read the folder again with Dataset.from_folder.",
                bad_files=[p.split(":", 1)[0] for p in problems],
            )
        return tuple(fresh)

    def _unchanged(self, record: ImageRecord, path: Path) -> bool:
        stamp = stamp_of(path)
        known = self._stamps.get(record.path)
        if known is not None:
            return stamp == known
        return stamp[0] == record.bytes and file_md5(path) == record.md5

    def iter_bytes(self, records: Sequence[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes]]:
        for record in records:
            try:
                data = (self.root / record.path).read_bytes()
            except FileNotFoundError as exc:
                raise DatasetError(
                    f"{record.path} was deleted from {self.root} since the dataset was read; "
                    "restore it, or read the folder again with Dataset.from_folder",
                    bad_files=[record.path],
                ) from exc
            yield record, data


class StoreSource:
    """A complete dataset version in a store, in either layout (from its ``manifest``)."""

    def __init__(self, store: Store, prefix: str, manifest: Manifest) -> None:
        self.store = store
        self.prefix = prefix
        self.manifest = manifest

    @property
    def layout(self) -> Layout:
        return self.manifest.layout

    @property
    def location(self) -> str:
        return f"{self.store.url}/{self.prefix}"

    def local_folder(self) -> Path | None:
        if self.layout != "files":
            return None
        return self.store.local_path(file_key(self.prefix, "").rstrip("/"))

    def stored_at(self) -> tuple[Store, str]:
        return self.store, self.prefix

    def current(self, records: Sequence[ImageRecord]) -> tuple[ImageRecord, ...]:
        return tuple(records)  # a complete version is not rewritten: its objects were verified

    def iter_bytes(self, records: Sequence[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes]]:
        """Each record with its bytes, in the given order."""
        if self.layout == "parquet":
            from cloudml_edu.datasets.packed import read_shards

            yield from read_shards(self.store, self.prefix, self.manifest, records)
            return
        reads = bounded_map(
            lambda r: self.store.get_bytes(file_key(self.prefix, r.path)),
            records,
            workers=self.store.max_concurrency,
        )
        yield from zip(records, reads, strict=True)
