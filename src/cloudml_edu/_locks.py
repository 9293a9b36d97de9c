"""A file lock with a bounded wait: one process at a time creates a shared store."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cloudml_edu.errors import TimeoutError

__all__ = ["file_lock"]


@contextmanager
def file_lock(
    path: str | os.PathLike[str], *, timeout: float, poll: float = 0.05
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block.

    Waits at most ``timeout`` seconds for another process to let go, then
    raises :class:`cloudml_edu.TimeoutError` naming the lock file.
    """
    deadline = time.monotonic() + timeout
    with Path(path).open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"another cloudml-edu command held {path} for {timeout:g} s; wait for it "
                        "to finish (or delete the file if no command is running) and retry"
                    ) from None
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
