"""Write a dataset's images to a local folder, concurrently, each verified by MD5, resumable."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cloudml_edu._paths import resolve_under, user_paths
from cloudml_edu.datasets._transfer import bounded_map, transfer_bar
from cloudml_edu.datasets.sources import Source, check_content
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
        check_content(record, data, source=source.location)
        with user_paths(target, what="download target"):
            partial.write_bytes(data)
            partial.replace(target)
        return record.bytes

    with transfer_bar("downloading", todo, progress=progress) as bar:
        for nbytes in bounded_map(write, source.iter_bytes(todo), workers=4):
            bar(nbytes, 1)


def _target(root: Path, record: ImageRecord) -> Path:
    target = resolve_under(root, record.path, source=f"download folder {root}")
    with user_paths(target.parent, what="download folder"):
        target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _has(root: Path, record: ImageRecord) -> bool:
    target = resolve_under(root, record.path, source=f"download folder {root}")
    if target.is_dir():
        raise DatasetError(
            f"{target} is a folder where the download writes an image; move it away and "
            "download again",
            bad_files=[record.path],
        )
    return (
        target.is_file()
        and target.stat().st_size == record.bytes
        and file_md5(target) == record.md5
    )
