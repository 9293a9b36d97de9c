"""Paths, checked: OS errors on a user's paths as typed errors, and paths read from data
resolved under their root.

A read-only workspace, an output folder that is a file, a full disk: each is a
:class:`ConfigError` (or :class:`NotFoundError`) saying which path and what to
do, never a bare ``OSError`` reported as a bug.

A path that comes from data (a manifest record, a Parquet shard cell, a catalog
row, a store key, a run or endpoint record) is only ever turned into a file
through :func:`resolve_under`, which refuses one that would lead outside its root
(absolute, ``..``, NUL, a look-alike separator, a link out) with an
:class:`UnsafePathError` naming where the path came from.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cloudml_edu.errors import CloudMLError, ConfigError, NotFoundError, UnsafePathError

__all__ = [
    "check_links_inside",
    "ensure_dir",
    "path_error",
    "resolve_under",
    "unsafe_reason",
    "unsafe_relative",
    "user_paths",
]

#: Characters that read as a slash or a backslash, and that some tools fold into one.
_LOOKALIKE_SEPARATORS = frozenset("\u2215\u2044\u29f8\u29f9\u2216\ufe68\uff0f\uff3c\u2571\u2572")


def unsafe_reason(relative: object) -> str | None:
    """Why ``relative`` is not a plain relative ``/``-separated path, or None when it is.

    Refused: anything but a non-empty string; NUL and control characters; a leading
    ``/``, a drive (``C:``) or a backslash; an empty, ``.`` or ``..`` segment; and a
    look-alike of ``/``, ``\\`` or ``..`` (checked again after NFKC folding, as some
    file systems and tools fold them).
    """
    if not isinstance(relative, str) or not relative:
        return "is empty" if relative == "" else f"is not text ({type(relative).__name__})"
    if any(ord(c) < 32 or ord(c) == 127 for c in relative):
        return "holds a NUL or control character"
    folded = unicodedata.normalize("NFKC", relative)
    for form in (relative, folded):
        if "\\" in form or any(c in _LOOKALIKE_SEPARATORS for c in form):
            return "holds a backslash or a look-alike of a path separator"
        if form.startswith("/") or (len(form) > 1 and form[0].isalpha() and form[1] == ":"):
            return "is absolute"
        parts = form.split("/")
        if ".." in parts:
            return "climbs out with '..'"
        if any(part in ("", ".") for part in parts):
            return "has an empty or '.' segment"
    return None


def unsafe_relative(relative: object, *, source: str, root: object = None) -> UnsafePathError:
    """The error for ``relative`` read from ``source``, refused (see :func:`resolve_under`)."""
    reason = unsafe_reason(relative) or f"leads outside {root} (through a link)"
    where = f" of {root}" if root is not None else ""
    return UnsafePathError(
        f"{source}: path {relative!r} {reason}; a path read from data must stay inside the "
        f"folder{where}, so nothing was read or written through it. Remove or fix that entry "
        "(or upload the images again from their folder)",
        bad_files=[str(relative)],
    )


def resolve_under(root: str | os.PathLike[str], relative: str, *, source: str) -> Path:
    """``root/relative`` resolved (links followed), refused unless it stays inside ``root``.

    The one way a path read from data becomes a file: ``source`` says where it was
    read (``dataset digits version 1, record 3``) for the :class:`UnsafePathError`.
    """
    if unsafe_reason(relative) is not None:
        raise unsafe_relative(relative, source=source, root=root)
    base = Path(root).resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise unsafe_relative(relative, source=source, root=base)
    return target


def check_links_inside(root: str | os.PathLike[str], *, source: str) -> None:
    """Refuse a folder about to be uploaded whole (an uploader that walks it follows links)
    when a link in it leads outside it: an :class:`UnsafePathError` naming ``source`` and
    the link.  Links that stay inside are fine; a linked folder is checked, not entered."""
    base = Path(root).resolve()
    for folder, dirs, files in os.walk(base):
        for name in (*dirs, *files):
            path = Path(folder, name)
            if path.is_symlink():
                resolve_under(base, path.relative_to(base).as_posix(), source=source)


def path_error(exc: OSError, path: str | os.PathLike[str], *, what: str) -> CloudMLError:
    """The typed error for ``exc`` raised on ``path`` (``what`` says what the path is for)."""
    where = f"{what} {Path(path)}"
    if isinstance(exc, FileNotFoundError):
        return NotFoundError(f"{where} does not exist; check the path")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConfigError(
            f"cannot write {where}: permission denied (or a read-only disk); choose a folder "
            "you can write to"
        )
    if isinstance(exc, NotADirectoryError | FileExistsError) or exc.errno == errno.ENOTDIR:
        return ConfigError(
            f"{where} (or a folder above it) is a file, not a folder; pass a folder path"
        )
    if isinstance(exc, IsADirectoryError):
        return ConfigError(f"{where} is a folder, not a file; pass a file path")
    if exc.errno == errno.ENOSPC:
        return ConfigError(f"no space left on the disk of {where}; free some space and retry")
    return ConfigError(f"cannot use {where}: {exc.strerror or exc}; check the path")


@contextmanager
def user_paths(path: str | os.PathLike[str], *, what: str) -> Iterator[None]:
    """Turn any OSError inside the block into :func:`path_error` for ``path``."""
    try:
        yield
    except OSError as exc:
        raise path_error(exc, getattr(exc, "filename", None) or path, what=what) from exc


def ensure_dir(path: str | os.PathLike[str], *, what: str) -> Path:
    """Create the folder ``path`` if needed and check it is writable, before anything is written."""
    folder = Path(path)
    with user_paths(folder, what=what):
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "not writable", str(folder))
    return folder
