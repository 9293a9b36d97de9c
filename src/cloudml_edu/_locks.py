"""A file lock with a bounded wait: one process at a time creates a shared store.

Built on ``filelock``: an OS lock (``fcntl.flock`` on Linux and macOS, ``msvcrt``
on Windows) that the operating system releases when the holding process ends,
and a lock file's existence where neither is available.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from cloudml_edu.errors import TimeoutError

__all__ = ["file_lock"]


@contextmanager
def file_lock(
    path: str | os.PathLike[str], *, timeout: float, poll: float = 0.05
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block.

    Waits at most ``timeout`` seconds for another process (or another lock on
    the same file in this process) to let go, then raises
    :class:`cloudml_edu.TimeoutError` naming the lock file.
    """
    lock = FileLock(os.fspath(path), thread_local=False)
    try:
        lock.acquire(timeout=timeout, poll_interval=poll)
    except Timeout:
        raise TimeoutError(
            f"another cloudml-edu command held {path} for {timeout:g} s; wait for it "
            "to finish (or delete the file if no command is running) and retry"
        ) from None
    try:
        yield
    finally:
        lock.release()
