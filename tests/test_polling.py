"""The one polling loop: backoff, a bound, a live line, and the Poller built on it."""

from __future__ import annotations

import pytest

from cloudml_edu._polling import Following, Poller, wait_until
from cloudml_edu.errors import BackendError, TimeoutError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_backs_off_to_its_ceiling() -> None:
    clock = FakeClock()
    wait_until(
        lambda elapsed: elapsed >= 60,
        timeout=120,
        describe=lambda e: "job",
        interval=1.0,
        max_interval=10.0,
        backoff=2.0,
        progress=False,
        sleep=clock.sleep,
        clock=clock,
    )
    assert clock.sleeps[:5] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert max(clock.sleeps) == 10.0
    # after the first minute at most one check every 5 s on average
    assert len(clock.sleeps) <= 3 + 60 / 5


def test_wait_until_gives_up_at_its_bound_naming_the_work() -> None:
    clock = FakeClock()
    checks: list[float] = []

    def never(elapsed: float) -> bool:
        checks.append(elapsed)
        return False

    with pytest.raises(TimeoutError, match=r"job abc: still not done after 30 s"):
        wait_until(
            never,
            timeout=30,
            describe=lambda e: "job abc",
            progress=False,
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.now == pytest.approx(30.0)  # the last sleep is cut to the bound
    assert checks[-1] == pytest.approx(30.0)


class _Job(Following[dict[str, str]]):
    """A scripted job: its statuses come from ``states``; cancel queues ``Canceled``."""

    terminal = frozenset({"Completed", "Failed", "Canceled"})
    poll_interval = poll_max_interval = 0.001
    cancellable = True

    def __init__(self, states: list[str]) -> None:
        self.states = states
        self.cancelled: list[str] = []

    def refresh(self, value: dict[str, str], /) -> dict[str, str]:
        return {"status": self.states.pop(0) if self.states else value["status"]}

    def status_of(self, value: dict[str, str], /) -> str:
        return value["status"]

    def describe(self, value: dict[str, str], elapsed: float, /) -> str:
        return f"job {value['status']}"

    def finish(self, value: dict[str, str], /) -> dict[str, str]:
        if value["status"] == "Failed":
            raise BackendError("job failed: out of memory")
        return value

    def cancel(self, value: dict[str, str], /) -> None:
        self.cancelled.append(value["status"])
        self.states.insert(0, "Canceled")


def _poller(states: list[str]) -> tuple[Poller[dict[str, str]], list[str]]:
    job = _Job(states)
    return Poller({"status": "Queued"}, job, progress=False), job.cancelled


def test_poller_result_waits_for_a_terminal_status() -> None:
    poller, _ = _poller(["Running", "Running", "Completed"])
    assert poller.status() == "Queued"
    assert poller.result(timeout=5) == {"status": "Completed"}
    assert poller.done()


def test_poller_failure_raises_from_finish() -> None:
    poller, _ = _poller(["Running", "Failed"])
    with pytest.raises(BackendError, match="out of memory"):
        poller.result(timeout=5)


def test_poller_timeout_leaves_the_work_to_wait_on_again() -> None:
    poller, _ = _poller(["Running"] * 10_000)
    with pytest.raises(TimeoutError):
        poller.result(timeout=0.05)
    assert poller.status() == "Running"


def test_poller_cancel_asks_once_and_refreshes() -> None:
    poller, cancelled = _poller(["Running"])
    assert not poller.done()
    poller.cancel()
    assert cancelled == ["Running"]
    assert poller.status() == "Canceled"
    poller.cancel()  # already ended: nothing more is sent
    assert cancelled == ["Running"]
