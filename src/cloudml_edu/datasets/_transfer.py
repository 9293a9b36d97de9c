"""Concurrency and progress for moving many objects: a bounded thread map and a transfer bar."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from cloudml_edu._progress import track
from cloudml_edu.manifest import ImageRecord

__all__ = ["bounded_map", "transfer_bar"]

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int) -> Iterator[R]:
    """``fn`` over ``items`` on ``workers`` threads, results in order.

    At most ``2 * workers`` items are in flight, so memory stays bounded and an
    error or Ctrl-C stops the work quickly: queued items are cancelled, running
    ones finish.
    """
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def transfer_bar(
    verb: str, records: Sequence[ImageRecord], *, progress: bool | None
) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of bytes, rate and ETA labelled ``<verb> <done>/<total> files``;
    yields ``advance(nbytes, files)``."""
    files, done = len(records), 0
    total = sum(r.bytes for r in records)
    with track(f"{verb} 0/{files} files", total=total, transfer=True, progress=progress) as bar:

        def advance(nbytes: int, count: int) -> None:
            nonlocal done
            done += count
            bar.update(description=f"{verb} {done}/{files} files")
            bar.advance(nbytes)

        yield advance
