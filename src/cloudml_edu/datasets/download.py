"""Write a dataset's images to a local folder, concurrently, each verified by MD5, resumable."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from cloudml_edu.datasets._transfer import bounded_map, transfer_bar
from cloudml_edu.datasets.sources import Source
from cloudml_edu.errors import DatasetError
from cloudml_edu.manifest import ImageRecord
from cloudml_edu.storage.base import file_md5

__all__ = ["download_records"]


def download_records(
    source: Source, records: Sequence[ImageRecord], root: Path, *, progress: bool | None
) -> None:
    """Write ``records`` from ``source`` under ``root/<label>/<file>``.

    Files already there with the right size and MD5 are kept, so an interrupted
    download resumes; each written file is checked against its MD5.
    """
    todo = [r for r in records if not _has(root, r)]

    def write(item: tuple[ImageRecord, bytes]) -> int:
        record, data = item
        target = _target(root, record)
        partial = target.with_name(target.name + ".partial")
        if hashlib.md5(data).hexdigest() != record.md5:
            raise DatasetError(
                f"{record.path} arrived corrupted (MD5 mismatch); run the download again",
                bad_files=[record.path],
            )
        partial.write_bytes(data)
        partial.replace(target)
        return record.bytes

    with transfer_bar("downloading", todo, progress=progress) as bar:
        for nbytes in bounded_map(write, source.iter_bytes(todo), workers=4):
            bar(nbytes, 1)


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
