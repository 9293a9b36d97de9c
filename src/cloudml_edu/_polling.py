"""Waiting on long operations: one poller shape for every target.

Shaped like azure-core's ``LROPoller`` (``begin_*``) and databricks-sdk's
``Wait[T]``: the adapter that started the work hands over one object that
knows how to follow it (a :class:`Follow`: refresh, status, describe, finish,
cancel, intervals); the caller gets :class:`Poller` with ``result(timeout=)``,
``status()``, ``done()`` and ``cancel()``.  A value found again later (by id,
from another process) is followed by the same kind of object, so it is waited
on with the same intervals and ends with the same errors.  Every wait in
the library goes through :func:`wait_until`, so every wait has a bound, backs
off, and can show a live status line on stderr.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection
from typing import Generic, Protocol, TypeVar

from cloudml_edu._progress import status_line
from cloudml_edu.errors import TimeoutError

__all__ = ["Follow", "Following", "Poller", "wait_until"]

T = TypeVar("T")

#: The longest wait of any kind, unless the caller passes its own ``timeout``.
DEFAULT_TIMEOUT = 3600.0


def wait_until(
    check: Callable[[float], bool],
    *,
    timeout: float,
    describe: Callable[[float], str],
    interval: float = 0.5,
    max_interval: float = 10.0,
    backoff: float = 1.5,
    progress: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Call ``check(elapsed)`` until it returns True; back off from ``interval`` to ``max_interval``.

    ``describe(elapsed)`` is the live status line (and the start of the timeout
    message).  Raises :class:`cloudml_edu.TimeoutError` once ``timeout`` seconds
    have passed; the work itself may go on remotely.
    """
    start = clock()
    delay = interval
    status = status_line(describe(0.0), progress=progress)
    try:
        while True:
            elapsed = clock() - start
            if check(elapsed):
                return
            elapsed = clock() - start
            if elapsed >= timeout:
                raise TimeoutError(
                    f"{describe(elapsed)}: still not done after {timeout:g} s; wait again with a "
                    "longer timeout (the work may still be running)"
                )
            status(describe(elapsed))
            sleep(min(delay, max(timeout - elapsed, 0.0)))
            delay = min(delay * backoff, max_interval)
    finally:
        status(None)


class Follow(Protocol[T]):
    """How to follow one kind of long operation: what a :class:`Poller` is built from.

    ``refresh(value)`` asks the service (or process) for the current state and
    returns the updated value; ``status_of(value)`` reads its status string;
    ``terminal`` lists the statuses that end the wait; ``finish(value)`` runs once
    it ended (and raises, for example, ``BackendError`` when it failed);
    ``cancel(value)`` asks the service to stop it (only when ``cancellable``);
    ``cancel_on_interrupt``: Ctrl-C cancels it at once (work on this machine).
    """

    @property
    def terminal(self) -> Collection[str]: ...

    @property
    def poll_interval(self) -> float: ...

    @property
    def poll_max_interval(self) -> float: ...

    @property
    def cancellable(self) -> bool: ...

    @property
    def cancel_on_interrupt(self) -> bool: ...

    def refresh(self, value: T, /) -> T: ...

    def status_of(self, value: T, /) -> str: ...

    def describe(self, value: T, elapsed: float, /) -> str: ...

    def finish(self, value: T, /) -> T: ...

    def cancel(self, value: T, /) -> None: ...


class Following(Generic[T]):
    """Defaults for a :class:`Follow`: back off from 0.5 s to 10 s, nothing to finish or cancel."""

    terminal: Collection[str] = ()
    poll_interval: float = 0.5
    poll_max_interval: float = 10.0
    cancellable: bool = False
    cancel_on_interrupt: bool = False

    def finish(self, value: T, /) -> T:
        """The value once it ended; nothing to check by default."""
        return value

    def cancel(self, value: T, /) -> None:
        """Nothing to stop by default (``cancellable`` is False)."""


class Poller(Generic[T]):
    """A long operation in flight; ``result(timeout=)`` waits for it and returns its value.

    Built from the value as first seen and the :class:`Follow` that knows how to
    refresh, describe, finish and cancel it.  On Ctrl-C during ``result``, work
    on this machine (``follow.cancel_on_interrupt``) is cancelled at once; remote
    work is cancelled only if the user says so at a terminal, else it goes on.
    """

    def __init__(self, value: T, follow: Follow[T], *, progress: bool | None = None) -> None:
        self._value = value
        self.follow = follow
        self._terminal = frozenset(follow.terminal)
        self._progress = progress

    @property
    def value(self) -> T:
        """The value as last seen, without asking the service again."""
        return self._value

    def status(self) -> str:
        """The status as last seen (no request)."""
        return self.follow.status_of(self._value)

    def done(self) -> bool:
        """Refresh once; True when the operation has ended (successfully or not)."""
        if self.status() not in self._terminal:
            self._value = self.follow.refresh(self._value)
        return self.status() in self._terminal

    def result(self, timeout: float | None = None) -> T:
        """Wait until the operation ends (at most ``timeout`` seconds) and return its value.

        Raises :class:`cloudml_edu.TimeoutError` past ``timeout``; the work goes
        on and ``result`` can be called again.  On Ctrl-C, cancels local work (or,
        at a terminal, offers to cancel remote work) before re-raising.
        """
        limit = DEFAULT_TIMEOUT if timeout is None else timeout
        try:
            wait_until(
                lambda elapsed: self.done(),
                timeout=limit,
                describe=lambda elapsed: self.follow.describe(self._value, elapsed),
                interval=self.follow.poll_interval,
                max_interval=self.follow.poll_max_interval,
                progress=self._progress,
            )
        except KeyboardInterrupt:
            if self.follow.cancellable and (
                self.follow.cancel_on_interrupt or _confirm("cancel it before stopping?")
            ):
                self.cancel()
            raise
        self._value = self.follow.finish(self._value)
        return self._value

    def cancel(self) -> None:
        """Ask the service to stop the work; a no-op when it has already ended."""
        if self.follow.cancellable and self.status() not in self._terminal:
            self.follow.cancel(self._value)
            self._value = self.follow.refresh(self._value)


def _confirm(question: str) -> bool:
    """Ask on the terminal; False when nobody is there to answer."""
    if not sys.stdin.isatty():
        return False
    from rich.prompt import Confirm

    return Confirm.ask(question, default=True, console=None)
