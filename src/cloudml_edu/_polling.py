"""Waiting on long operations: one poller shape for every target.

Shaped like azure-core's ``LROPoller`` (``begin_*``) and databricks-sdk's
``Wait[T]``: the adapter that started the work hands over how to refresh it,
read its status and cancel it; the caller gets :class:`Poller` with
``result(timeout=)``, ``status()``, ``done()`` and ``cancel()``.  Every wait in
the library goes through :func:`wait_until`, so every wait has a bound, backs
off, and can show a live status line on stderr.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection
from typing import Generic, TypeVar

from cloudml_edu._progress import status_line
from cloudml_edu.errors import TimeoutError

__all__ = ["Poller", "wait_until"]

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
                status(describe(clock() - start))  # the final state, with the real time
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


class Poller(Generic[T]):
    """A long operation in flight; ``result(timeout=)`` waits for it and returns its value.

    ``refresh(value)`` asks the service (or process) for the current state and
    returns the updated value; ``status_of(value)`` reads its status string;
    ``terminal`` lists the statuses that end the wait; ``finish(value)`` runs once
    it ended (and raises, for example, ``BackendError`` when it failed);
    ``cancel(value)`` asks the service to stop it.  On Ctrl-C during ``result``, work
    on this machine (``cancel_on_interrupt=True``) is cancelled at once; remote work is
    cancelled only if the user says so at a terminal, else it goes on.
    """

    def __init__(
        self,
        value: T,
        *,
        refresh: Callable[[T], T],
        status_of: Callable[[T], str],
        terminal: Collection[str],
        describe: Callable[[T, float], str],
        finish: Callable[[T], T] | None = None,
        cancel: Callable[[T], None] | None = None,
        progress: bool | None = None,
        interval: float = 0.5,
        max_interval: float = 10.0,
        cancel_on_interrupt: bool = False,
    ) -> None:
        self._value = value
        self._refresh = refresh
        self._status_of = status_of
        self._terminal = frozenset(terminal)
        self._describe = describe
        self._finish = finish
        self._cancel = cancel
        self._progress = progress
        self._interval = interval
        self._max_interval = max_interval
        self._cancel_on_interrupt = cancel_on_interrupt

    @property
    def value(self) -> T:
        """The value as last seen, without asking the service again."""
        return self._value

    def status(self) -> str:
        """The status as last seen (no request)."""
        return self._status_of(self._value)

    def done(self) -> bool:
        """Refresh once; True when the operation has ended (successfully or not)."""
        if self.status() not in self._terminal:
            self._value = self._refresh(self._value)
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
                describe=lambda elapsed: self._describe(self._value, elapsed),
                interval=self._interval,
                max_interval=self._max_interval,
                progress=self._progress,
            )
        except KeyboardInterrupt:
            if self._cancel is not None and (
                self._cancel_on_interrupt or _confirm("cancel it before stopping?")
            ):
                self.cancel()
            raise
        if self._finish is not None:
            self._value = self._finish(self._value)
        return self._value

    def cancel(self) -> None:
        """Ask the service to stop the work; a no-op when it has already ended."""
        if self._cancel is not None and self.status() not in self._terminal:
            self._cancel(self._value)
            self._value = self._refresh(self._value)


def _confirm(question: str) -> bool:
    """Ask on the terminal; False when nobody is there to answer."""
    if not sys.stdin.isatty():
        return False
    from rich.prompt import Confirm

    return Confirm.ask(question, default=True, console=None)
