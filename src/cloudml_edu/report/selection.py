"""Which runs a comparison takes by default: comparable ones.

``compare``, ``report`` and ``powerbi export`` use :func:`select_runs`, so they
agree: the runs of one dataset (the newest run's, the one asked for, or every
dataset with ``"all"``: the class view), with the statuses asked for (completed
only by default), then the newest run of each backend (per owner, workspace and
dataset) for tables, or every such run for dashboards.  Statuses are filtered
first, so a failed experiment never pushes a good run out.  Runs come back
grouped: by dataset, then owner, workspace and backend.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cloudml_edu.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu.run import TrainingRun

__all__ = [
    "ALL_DATASETS",
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
#: The ``dataset`` that means every dataset (``--dataset all``).
ALL_DATASETS = "all"


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


def grouped(runs: Iterable[TrainingRun]) -> list[TrainingRun]:
    """``runs`` grouped by dataset, then owner, workspace (run store) and backend."""
    return sorted(runs, key=lambda r: (r.dataset, r.owner, r.tracking_uri, r.backend, r.started))


def latest_per_backend(runs: Iterable[TrainingRun]) -> list[TrainingRun]:
    """The newest run of each backend, per dataset, owner and workspace (run store), grouped."""
    latest: dict[tuple[str, str, str, str], TrainingRun] = {}
    for run in runs:
        key = (run.dataset, run.tracking_uri, run.owner, run.backend)
        if key not in latest or run.started > latest[key].started:
            latest[key] = run
    return grouped(latest.values())


def select_runs(
    runs: Iterable[TrainingRun],
    *,
    dataset: str | None = None,
    statuses: Collection[str] = DEFAULT_STATUSES,
    latest: bool = True,
) -> Selection:
    """The comparable runs among ``runs``: one dataset, the given statuses, newest per backend.

    ``dataset`` defaults to the dataset of the newest run with one of ``statuses``;
    ``"all"`` keeps every dataset (grouped; ``Selection.dataset`` is None then).
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
    if dataset is not None and dataset.strip().lower() == ALL_DATASETS:
        return Selection(_latest(kept, notes) if latest else grouped(kept), None, notes)
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
            f"({', '.join(others)}) left out (--dataset NAME to pick one, --dataset all "
            "for every one)"
        )
    return Selection(_latest(same, notes) if latest else grouped(same), chosen, notes)


def _latest(runs: list[TrainingRun], notes: list[str]) -> list[TrainingRun]:
    """:func:`latest_per_backend`, with a note on the older runs it leaves out."""
    kept = latest_per_backend(runs)
    older = len(runs) - len(kept)
    if older:
        notes.append(
            f"left out {older} older run(s) of the same backend, owner and dataset (pass run "
            "ids to compare them; `cloudml-edu runs` lists them, `powerbi export` keeps them all)"
        )
    return kept
