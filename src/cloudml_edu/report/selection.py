"""Which runs a comparison takes by default: comparable ones.

``compare``, ``report`` and ``powerbi export`` use :func:`select_runs`, so they
agree: the runs of one dataset (the newest run's, or the one asked for), with
the statuses asked for (completed only by default), then the newest run of each
backend (per owner and workspace) for tables, or every such run for dashboards.
Statuses are filtered first, so a failed experiment never pushes a good run out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cloudml_edu.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu.run import TrainingRun

__all__ = [
    "DEFAULT_STATUSES",
    "STATUSES",
    "Selection",
    "check_statuses",
    "latest_per_backend",
    "select_runs",
]

#: Every run status (``cloudml_edu.run.RunStatus``; spelled out so ``--help`` stays light),
#: as ``--status`` accepts them (plus ``all``).
STATUSES: tuple[str, ...] = ("NotStarted", "Running", "Completed", "Failed", "Canceled")
DEFAULT_STATUSES: tuple[str, ...] = ("Completed",)


@dataclass
class Selection:
    """The runs chosen, the dataset they share, and what was left out (one note per reason)."""

    runs: list[TrainingRun]
    dataset: str | None
    notes: list[str] = field(default_factory=list)


def check_statuses(statuses: Iterable[str]) -> tuple[str, ...]:
    """``statuses`` spelled as runs spell them (case-insensitive; ``all`` means every one)."""
    by_lower = {s.lower(): s for s in STATUSES}
    chosen: list[str] = []
    for status in statuses:
        if status.lower() == "all":
            return STATUSES
        if status.lower() not in by_lower:
            raise ConfigError(
                f"unknown status {status!r}; use one of: {', '.join(STATUSES)} or all"
            )
        chosen.append(by_lower[status.lower()])
    return tuple(chosen) or DEFAULT_STATUSES


def latest_per_backend(runs: Iterable[TrainingRun]) -> list[TrainingRun]:
    """The newest run of each backend, per owner and per workspace (run store)."""
    latest: dict[tuple[str, str, str], TrainingRun] = {}
    for run in runs:
        key = (run.tracking_uri, run.owner, run.backend)
        if key not in latest or run.started > latest[key].started:
            latest[key] = run
    return sorted(latest.values(), key=lambda r: (r.owner, r.tracking_uri, r.backend))


def select_runs(
    runs: Iterable[TrainingRun],
    *,
    dataset: str | None = None,
    statuses: Collection[str] = DEFAULT_STATUSES,
    latest: bool = True,
) -> Selection:
    """The comparable runs among ``runs``: one dataset, the given statuses, newest per backend.

    ``dataset`` defaults to the dataset of the newest run with one of ``statuses``;
    ``latest=False`` keeps every such run (history, for Power BI).  Raises
    :class:`NotFoundError` when nothing is left, saying which option widens the choice.
    """
    every = sorted(runs, key=lambda r: r.started, reverse=True)
    wanted = check_statuses(statuses)
    kept = [r for r in every if r.status in wanted]
    notes: list[str] = []
    other_status = len(every) - len(kept)
    if other_status:
        notes.append(
            f"left out {other_status} run(s) not {'/'.join(wanted)} (--status all to include them)"
        )
    if not kept:
        raise NotFoundError(
            f"none of the {len(every)} run(s) is {'/'.join(wanted)}; pass --status all to see "
            "them, or train one with `cloudml-edu train DATASET`"
        )
    chosen = dataset if dataset is not None else kept[0].dataset
    same = [r for r in kept if r.dataset == chosen]
    others = sorted({r.dataset for r in kept} - {chosen})
    if not same:
        raise NotFoundError(
            f"no {'/'.join(wanted)} run on dataset {chosen!r}; runs exist on: "
            f"{', '.join(others)} (pass --dataset NAME)"
        )
    if others:
        notes.append(
            f"compared dataset {chosen!r} only; {len(kept) - len(same)} run(s) on other data "
            f"({', '.join(others)}) left out (--dataset NAME to pick one)"
        )
    return Selection(latest_per_backend(same) if latest else same, chosen, notes)
