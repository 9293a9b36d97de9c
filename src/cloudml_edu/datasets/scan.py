"""Reading an ImageFolder (``<root>/<class>/<image>``): every image decoded, hashed and stamped."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cloudml_edu._images import check_image
from cloudml_edu._paths import unsafe_reason
from cloudml_edu._progress import track
from cloudml_edu.errors import DatasetError
from cloudml_edu.manifest import ImageRecord

__all__ = ["Stamp", "scan_file", "scan_folder"]

log = logging.getLogger(__name__)

Stamp = tuple[int, int]
"""A file's (size, mtime_ns) when it was read: how an upload notices it changed since."""


def stamp_of(path: Path) -> Stamp:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def scan_file(root: Path, relative: str) -> tuple[ImageRecord | None, str | None, Stamp]:
    """Decode and hash one file: its record, or why it is unusable; and its stamp.

    A name no store could hold safely (a backslash, a control character) is unusable
    too (see :func:`cloudml_edu._paths.unsafe_reason`).  Links in the user's own folder
    are followed: the user chose them.
    """
    why = unsafe_reason(relative)
    if why is not None:
        return None, f"{relative}: the name {why}; rename the file", (0, 0)
    path = root / relative
    try:
        stamp = stamp_of(path)  # before reading: a change after this is noticed later
        data = path.read_bytes()
    except FileNotFoundError:
        return None, f"{relative}: the file disappeared while it was being read", (0, 0)
    except OSError as exc:
        return None, f"{relative}: cannot be read ({exc.strerror or exc})", (0, 0)
    found = check_image(data)
    if found.problem is not None:
        return None, f"{relative}: {found.problem}", stamp
    record = ImageRecord(
        path=relative,
        label=relative.split("/", 1)[0],
        bytes=len(data),
        md5=hashlib.md5(data).hexdigest(),
        width=found.width,
        height=found.height,
        mode=found.mode,
    )
    return record, None, stamp


def scan_folder(
    root: Path, *, skip_invalid: bool, progress: bool | None
) -> tuple[list[ImageRecord], dict[str, Stamp]]:
    """Every usable image under ``root``'s class folders, with its stamp.

    Corrupt, empty or non-image files raise :class:`DatasetError` listing each one,
    unless ``skip_invalid`` (then they are skipped with a warning).  An empty class
    folder, or fewer than two classes, always raise.
    """
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder: pass a folder with one sub-folder per class")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    stray = [p.name for p in root.iterdir() if p.is_file() and not p.name.startswith(".")]
    if stray:
        log.warning(
            "ignoring %d file(s) outside class folders in %s: %s", len(stray), root, stray[:5]
        )
    empty = [d.name for d in class_dirs if not any(_visible_files(d))]
    if empty:
        raise DatasetError(
            f"class folder(s) with no files in {root}: {', '.join(empty)}; "
            "add images or remove the folder",
            bad_files=empty,
        )
    if len(class_dirs) < 2:
        raise DatasetError(
            f"{root} has {len(class_dirs)} class folder(s); a classifier needs at least 2 "
            "(one sub-folder per class, e.g. images/cat/1.png, images/dog/2.png)"
        )
    files = [f.relative_to(root).as_posix() for d in class_dirs for f in sorted(_visible_files(d))]
    records, problems, stamps = _scan(root, files, progress=progress)
    _warn_duplicates(records)
    if problems:
        listing = "\n  ".join(problems)
        if not skip_invalid:
            found = f"{len(problems)} unusable file(s) in {root}:\n  {listing}\n"
            raise DatasetError(
                found + "Remove or replace them, or pass skip_invalid=True to skip them.",
                bad_files=[p.split(":", 1)[0] for p in problems],
                cli_message=found + "Remove or replace them, or pass --skip-invalid.",
            )
        log.warning("skipping %d unusable file(s):\n  %s", len(problems), listing)
    left = {r.label for r in records}
    now_empty = [d.name for d in class_dirs if d.name not in left]
    if now_empty:
        raise DatasetError(
            f"after skipping unusable files, class(es) {', '.join(now_empty)} have no images; "
            "add valid images to them",
            bad_files=now_empty,
        )
    return records, stamps


def _scan(
    root: Path, files: list[str], *, progress: bool | None
) -> tuple[list[ImageRecord], list[str], dict[str, Stamp]]:
    records: list[ImageRecord] = []
    problems: list[str] = []
    stamps: dict[str, Stamp] = {}
    with (
        track("checking images", total=len(files), progress=progress) as bar,
        ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool,
    ):
        for record, problem, stamp in pool.map(lambda f: scan_file(root, f), files):
            if record is not None:
                records.append(record)
                stamps[record.path] = stamp
            if problem is not None:
                problems.append(problem)
            bar.advance()
    return records, problems, stamps


def _visible_files(folder: Path) -> Iterator[Path]:
    """Files under ``folder``, skipping hidden ones and everything in hidden folders
    (``.ipynb_checkpoints/``, ``.DS_Store``, ``.git/``)."""
    for path in folder.rglob("*"):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if not hidden and path.is_file():
            yield path


def _warn_duplicates(records: list[ImageRecord]) -> None:
    """Warn about identical images (same MD5) filed under different classes: a classifier
    cannot learn two labels for one image, and a split may put the copies on both sides."""
    by_md5: dict[str, list[ImageRecord]] = {}
    for record in records:
        by_md5.setdefault(record.md5, []).append(record)
    clashes = [
        " = ".join(r.path for r in group)
        for group in by_md5.values()
        if len({r.label for r in group}) > 1
    ]
    if clashes:
        log.warning(
            "%d image(s) appear in more than one class (same content): %s; remove the copies "
            "from the wrong class",
            len(clashes),
            "; ".join(clashes[:10]) + ("; ..." if len(clashes) > 10 else ""),
        )
