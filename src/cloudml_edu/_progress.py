"""Progress bars and live status for long work (rich, on stderr), silenced by ``CLOUDML_NO_PROGRESS=1``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["Tracker", "progress_enabled", "track"]


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to draw progress: the explicit argument wins, then ``CLOUDML_NO_PROGRESS``."""
    if progress is not None:
        return progress
    return os.environ.get("CLOUDML_NO_PROGRESS", "").lower() not in {"1", "true", "yes"}


class Tracker:
    """Advance a progress task; a no-op when progress is disabled."""

    def __init__(self, progress: Progress | None, task: int | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: float = 1.0) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)  # type: ignore[arg-type]

    def update(self, *, description: str | None = None, total: float | None = None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description, total=total)  # type: ignore[arg-type]


@contextmanager
def track(
    description: str,
    *,
    total: float | None,
    unit: str = "files",
    transfer: bool = False,
    progress: bool | None = None,
) -> Iterator[Tracker]:
    """A rich progress bar for ``total`` steps (or bytes when ``transfer``), or nothing."""
    if not progress_enabled(progress):
        yield Tracker(None, None)
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    if transfer:
        columns += [DownloadColumn(), TransferSpeedColumn()]
    else:
        columns += [MofNCompleteColumn(), TextColumn(unit)]
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    from rich.console import Console

    # on stderr, like every status line: stdout carries results only (``--json`` parses it)
    with Progress(*columns, transient=False, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)
        yield Tracker(bar, task)
