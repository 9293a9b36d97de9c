"""One mapping of OS errors on a user's paths to typed errors that name the path.

A read-only workspace, an output folder that is a file, a full disk: each is a
:class:`ConfigError` (or :class:`NotFoundError`) saying which path and what to
do, never a bare ``OSError`` reported as a bug.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cloudml_edu.errors import CloudMLError, ConfigError, NotFoundError

__all__ = ["ensure_dir", "path_error", "user_paths"]


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
