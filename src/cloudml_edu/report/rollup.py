"""The class roll-up: one row per student (owner and workspace) of a comparison.

An instructor comparing handed-in workspaces sees, per student, which backends
they ran, their best accuracy (and on which dataset), what their runs cost, and
what is missing: a backend never run is flagged, so a skipped part of the lab
shows at a glance.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from cloudml_edu.report.comparison import Comparison, ComparisonRow

__all__ = ["LAB_BACKENDS", "StudentRow", "roll_up", "rollup_html", "rollup_table"]

#: The backends the lab asks every student to run.
LAB_BACKENDS: tuple[str, ...] = ("designer", "sdk", "automl")


@dataclass(frozen=True)
class StudentRow:
    """One student: what they ran and what is missing."""

    owner: str
    workspace: str
    datasets: tuple[str, ...]
    backends: tuple[str, ...]
    missing: tuple[str, ...]
    runs: int
    best_accuracy: float | None
    best_dataset: str
    best_backend: str
    cost_usd: float
    cloud_estimate_usd: float | None

    def to_record(self) -> dict[str, Any]:
        """JSON-ready fields (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _estimate(row: ComparisonRow) -> float | None:
    """What the run would cost on its backend's cloud (None for a cloud run: it was billed)."""
    found = row.cloud_estimate
    return None if found is None else found.usd


def roll_up(
    comparison: Comparison, *, expected: tuple[str, ...] = LAB_BACKENDS
) -> list[StudentRow]:
    """One :class:`StudentRow` per (owner, workspace) of ``comparison``, in row order.

    ``expected`` are the backends the lab asks for; those a student has no run of
    are listed in ``missing``.
    """
    students: dict[tuple[str, str], list[ComparisonRow]] = {}
    for row in comparison.rows:
        students.setdefault((row.owner, row.workspace), []).append(row)
    found = []
    for (owner, workspace), rows in students.items():
        done = tuple(dict.fromkeys(r.backend for r in rows))
        scored = [r for r in rows if r.accuracy is not None]
        best = max(scored, key=lambda r: r.accuracy or 0.0, default=None)
        estimates = [_estimate(r) for r in rows if r.target == "local"]
        known = [e for e in estimates if e is not None]
        found.append(
            StudentRow(
                owner=owner,
                workspace=workspace,
                datasets=tuple(dict.fromkeys(r.dataset for r in rows)),
                backends=done,
                missing=tuple(b for b in expected if b not in done),
                runs=len(rows),
                best_accuracy=None if best is None else best.accuracy,
                best_dataset="" if best is None else best.dataset,
                best_backend="" if best is None else best.backend,
                cost_usd=round(sum(r.cost_usd or 0.0 for r in rows), 4),
                cloud_estimate_usd=round(sum(known), 4) if known else None,
            )
        )
    return found


_HEADERS = ("owner", "workspace", "datasets", "done", "missing", "best acc", "cost", "≈cloud")


def _cells(student: StudentRow) -> tuple[str, ...]:
    best = (
        "—"
        if student.best_accuracy is None
        else f"{student.best_accuracy:.3f} ({student.best_backend}, {student.best_dataset})"
    )
    estimate = "—" if student.cloud_estimate_usd is None else f"~${student.cloud_estimate_usd:.2f}"
    return (
        student.owner,
        student.workspace,
        ", ".join(student.datasets),
        ", ".join(student.backends),
        ", ".join(student.missing) or "none",
        best,
        f"${student.cost_usd:.2f}",
        estimate,
    )


def rollup_table(students: list[StudentRow]) -> Table:
    """The roll-up as a rich Table; a student with a missing backend is shown in yellow."""
    from rich.table import Table

    table = Table(
        *_HEADERS,
        title="class roll-up: one row per student",
        caption="≈cloud: what the local runs would cost on their backend's cloud "
        "(start-up + run + one endpoint hour each, list prices)",
        box=None,
        padding=(0, 1, 0, 0),
        header_style="bold underline",
    )
    for student in students:
        table.add_row(*_cells(student), style="yellow" if student.missing else None)
    return table


def rollup_html(students: list[StudentRow]) -> str:
    """The roll-up as an HTML section (a missing backend marked ``class="missing"``)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEADERS)
    body = "".join(
        f"<tr{' class=missing' if s.missing else ''}>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in _cells(s))
        + "</tr>"
        for s in students
    )
    return (
        '<section id="rollup"><h2>class roll-up</h2><p class="meta">one row per student '
        "(owner and workspace): backends done, what is missing, best accuracy, cost</p>"
        f'<div class="scroll"><table class="rollup"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div></section>"
    )
