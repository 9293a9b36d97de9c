"""The lab's reflection: transparency, usability, deployment and cost per backend, pre-filled.

``cloudml-edu report --reflection`` writes ``reflection.md`` next to the report:
one column per backend, each cell filled from the comparison (what was measured or
counted, never an opinion), and under the table one prompt per dimension for the
student's own words.  The student edits the file and hands it in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cloudml_edu.report.profiles import profile_of

if TYPE_CHECKING:
    from cloudml_edu.report.comparison import Comparison, ComparisonRow

__all__ = ["DIMENSIONS", "reflection_markdown"]

#: The dimensions the lab asks students to weigh, and the question each prompt asks.
DIMENSIONS: dict[str, str] = {
    "transparency": "What could you open and read about how each model was made? What stayed "
    "hidden, and did it matter to you?",
    "usability": "Which backend got you to a first prediction with the least effort, and what "
    "slowed you down on the others?",
    "deployment": "What did it take to serve each model, and what would you check before "
    "letting other people use the endpoint?",
    "cost": "What would this lab cost you in the cloud, which part is the largest, and how "
    "would you keep it down?",
}


_UNMEASURED = "not measured yet (deploy the run and predict)"


def _transparency(row: ComparisonRow) -> str:
    profile = profile_of(row.backend)
    what = f": {profile.inspect}" if profile else ""
    return f"{row.inspectable_steps} things to open{what}"


def _usability(row: ComparisonRow) -> str:
    first = (
        f"first answer {row.first_answer_seconds:.1f} s after training started"
        if row.first_answer_seconds is not None
        else f"time to a first answer {_UNMEASURED}"
    )
    return (
        f"{row.setup_steps if row.setup_steps is not None else '?'} set-up steps, "
        f"{row.user_code_lines if row.user_code_lines is not None else '?'} lines of code; " + first
    )


def _deployment(row: ComparisonRow) -> str:
    steps = "?" if row.deployment_steps is None else str(row.deployment_steps)
    took = (
        f"deployed in {row.deploy_seconds:.1f} s"
        if row.deploy_seconds is not None
        else f"deploy time {_UNMEASURED}"
    )
    return f"{steps} steps; {took}"


def _cost(row: ComparisonRow) -> str:
    if row.target != "local":
        return "—" if row.cost_usd is None else f"${row.cost_usd:.2f} billed"
    found = row.cloud_estimate
    if found is None or found.usd is None:
        return "free here; no cloud estimate (price missing)"
    return f"free here; ~${found.usd:.2f} on {found.title} (start-up + run + one endpoint hour)"


_CELLS: dict[str, Callable[[ComparisonRow], str]] = {
    "transparency": _transparency,
    "usability": _usability,
    "deployment": _deployment,
    "cost": _cost,
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reflection_markdown(comparison: Comparison, *, title: str = "Reflection") -> str:
    """The reflection sheet for ``comparison`` (its newest row per backend), as Markdown."""
    rows: dict[str, ComparisonRow] = {}
    for row in comparison.rows:
        if row.backend not in rows or row.started > rows[row.backend].started:
            rows[row.backend] = row
    backends = list(rows)
    lines = [
        f"# {title}",
        "",
        "Pre-filled from your runs (measured or counted by cloudml-edu); "
        "the answers below the table are yours.",
        "",
        "| | " + " | ".join(backends) + " |",
        "|---|" + "---|" * len(backends),
        "| accuracy | "
        + " | ".join(
            "—" if rows[b].accuracy is None else f"{rows[b].accuracy:.3f}" for b in backends
        )
        + " |",
    ]
    for name, describe in _CELLS.items():
        lines.append(f"| {name} | " + " | ".join(_cell(describe(rows[b])) for b in backends) + " |")
    lines.append("")
    datasets = ", ".join(comparison.datasets)
    lines.append(f"Runs: {', '.join(rows[b].run_id[:8] for b in backends)} on {datasets}.")
    for name, question in DIMENSIONS.items():
        lines += ["", f"## {name.capitalize()}", "", question, "", "> _your answer_"]
    return "\n".join(lines) + "\n"
