"""Progress bars and live status for long work (rich), silenced by ``CLOUDML_NO_PROGRESS=1``.

In a terminal they draw on stderr, status lines and bars alike: stdout carries
results only (``cloudml-edu ... --json`` prints one JSON document there).  In a notebook
(Jupyter, Colab, Azure ML or Databricks notebooks) rich detects the kernel and
renders HTML into the cell's output instead of terminal escape codes; it redraws
live through ``ipywidgets`` when that is installed, and otherwise the final state
is printed once, so a notebook keeps a static record of what ran.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["Tracker", "console", "progress_enabled", "status_line", "track"]


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to draw progress: the explicit argument wins, then ``CLOUDML_NO_PROGRESS``."""
    if progress is not None:
        return progress
    return os.environ.get("CLOUDML_NO_PROGRESS", "").lower() not in {"1", "true", "yes"}


def console(*, stderr: bool = True) -> Console:
    """A rich Console for progress: the cell's output in a notebook, else stderr (or stdout)."""
    from rich.console import Console

    here = Console()  # rich decides whether this is a notebook kernel
    if here.is_jupyter or not stderr:
        return here
    return Console(stderr=True)


def _redraws(out: Console) -> bool:
    """Whether ``out`` can redraw a live display: a terminal, or a notebook with ipywidgets."""
    return not out.is_jupyter or importlib.util.find_spec("ipywidgets") is not None


def status_line(first: str, *, progress: bool | None = None) -> Callable[[str | None], None]:
    """A live status spinner; call the result with a new text to update it, with None to stop it.

    In a notebook that cannot redraw, the last text is printed once, when it stops (so
    the cell keeps the final state, not the first).
    """
    if not progress_enabled(progress):
        return lambda text: None
    out = console()
    if not _redraws(out):
        last = [first]

        def remember(text: str | None) -> None:
            if text is None:
                out.print(last[0], markup=False, highlight=False)
            else:
                last[0] = text

        return remember
    live = out.status(first)
    live.start()

    def update(text: str | None) -> None:
        if text is None:
            live.stop()
        else:
            live.update(text)

    return update


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
    out = console()
    notebook = out.is_jupyter
    # In a notebook the live widget goes away at the end and the final bar is printed once.
    with Progress(*columns, console=out, transient=notebook, disable=not _redraws(out)) as bar:
        task = bar.add_task(description, total=total)
        yield Tracker(bar, task)
    if notebook:
        out.print(bar.get_renderable())
