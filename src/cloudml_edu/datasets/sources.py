"""Where a dataset's bytes are read from: a local folder, or a complete version in a store.

A source answers the questions the rest of the library asks, instead of being
type-checked: where its files are on this machine (:meth:`Source.local_folder`),
which store and key prefix it is a complete version at (:meth:`Source.stored_at`), and
what its files hold now (:meth:`Source.current`, run before an upload).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from cloudml_edu._paths import resolve_under, unsafe_reason, unsafe_relative
from cloudml_edu.datasets._transfer import bounded_map
from cloudml_edu.datasets.scan import Stamp, scan_file, stamp_of
from cloudml_edu.errors import DatasetError
from cloudml_edu.manifest import ImageRecord, Layout, Manifest, file_key
from cloudml_edu.storage.base import Store, file_md5

__all__ = ["FolderSource", "Source", "StoreSource", "check_content"]

log = logging.getLogger(__name__)


#: What helps when a stored version's image no longer matches its manifest.
_STORED_FIX = (
    "the stored copy was changed or damaged after the upload, so reading it again will not "
    "help. Upload the images again from their original folder to a new version, or remove "
    "that record from the manifest"
)
#: What helps when a file of the user's own folder changed since it was read.
_FOLDER_FIX = (
    "the file changed since the dataset was read. Read the folder again "
    "(Dataset.from_folder, or rerun the command) and try again"
)


def check_content(record: ImageRecord, data: bytes, *, source: str, fix: str = _STORED_FIX) -> None:
    """Raise DatasetError unless ``data`` hashes to ``record``'s MD5 (the manifest's):
    every image is checked as it is read, so nothing trains on bytes its manifest does
    not describe."""
    actual = hashlib.md5(data).hexdigest()
    if actual != record.md5:
        raise DatasetError(
            f"{record.path} in {source} does not match its manifest (MD5 {actual}, the "
            f"manifest says {record.md5}): {fix}",
            bad_files=[record.path],
        )


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

    def local_file(self, record: ImageRecord) -> Path | None:
        """Where ``record``'s image is on this machine (checked to stay inside the folder;
        UnsafePathError otherwise), or None when there is no local folder."""
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
    :meth:`current` hashes every file to notice a change.  ``own_folder``: the
    user's own image folder, whose links (the user made them) are followed; any
    other folder (a store's version, a job's input) is confined: a record that
    leads outside it, through ``..`` or a link, raises UnsafePathError.
    """

    def __init__(
        self, root: Path, stamps: Mapping[str, Stamp] | None = None, *, own_folder: bool = False
    ) -> None:
        self.root = root
        self._stamps = dict(stamps or {})
        self._own_folder = own_folder

    def local_file(self, record: ImageRecord) -> Path:
        source = f"image folder {self.root}, record {record.path!r}"
        if self._own_folder:
            if unsafe_reason(record.path) is not None:
                raise unsafe_relative(record.path, source=source, root=self.root)
            return self.root / record.path
        return resolve_under(self.root, record.path, source=source)

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
            path = self.local_file(record)
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
                data = self.local_file(record).read_bytes()
            except FileNotFoundError as exc:
                raise DatasetError(
                    f"{record.path} was deleted from {self.root} since the dataset was read; "
                    "restore it, or read the folder again with Dataset.from_folder",
                    bad_files=[record.path],
                ) from exc
            fix = _FOLDER_FIX if self._own_folder else _STORED_FIX
            check_content(record, data, source=self.location, fix=fix)
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

    def local_file(self, record: ImageRecord) -> Path | None:
        folder = self.local_folder()
        if folder is None:
            return None
        source = f"{self.manifest.describe()}, record {record.path!r}"
        return resolve_under(folder, record.path, source=source)

    def current(self, records: Sequence[ImageRecord]) -> tuple[ImageRecord, ...]:
        return tuple(records)  # a complete version is not rewritten: its objects were verified

    def iter_bytes(self, records: Sequence[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes]]:
        """Each record with its bytes, in the given order."""
        if self.layout == "parquet":
            from cloudml_edu.datasets.packed import read_shards

            for record, data in read_shards(self.store, self.prefix, self.manifest, records):
                check_content(record, data, source=self.location)
                yield record, data
            return
        reads = bounded_map(
            lambda r: self.store.get_bytes(file_key(self.prefix, r.path)),
            records,
            workers=self.store.max_concurrency,
        )
        for record, data in zip(records, reads, strict=True):
            check_content(record, data, source=self.location)
            yield record, data
