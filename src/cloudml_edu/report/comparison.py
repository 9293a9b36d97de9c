"""``compare(runs)``: one table across runs, backends and owners.

Each row puts side by side what the lab asks students to weigh: quality
(accuracy, F1 macro), time (wall clock), money (node-hours, estimated cost from
:mod:`cloudml_edu.pricing`; under a local run, one row per cloud target that offers
its backend: what its measured time would cost there), transparency (how many steps, trials or job parts
the student can open), usability (lines of user code and deployment steps, from
:mod:`cloudml_edu.report.profiles`) and what the run left behind (artifacts in
its MLflow run).  "Best" is marked only among runs of the same dataset.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from cloudml_edu.errors import ConfigError
from cloudml_edu.metrics import lower_is_better
from cloudml_edu.pricing import CloudCompute, TargetEstimate, estimate_cost, estimate_on
from cloudml_edu.report.profiles import profile_of
from cloudml_edu.targets import LOCAL, all_targets

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from cloudml_edu.run import TrainingRun

__all__ = [
    "COLUMNS",
    "LEGEND",
    "Comparison",
    "ComparisonRow",
    "compare",
    "inspectable_steps",
    "model_family",
    "primary_metric_of",
    "workspace_label",
]


@dataclass(frozen=True)
class ComparisonRow:
    """One run, summarised for comparison."""

    run_id: str
    owner: str
    workspace: str
    backend: str
    target: str
    dataset: str
    status: str
    started: datetime
    accuracy: float | None
    f1_macro: float | None
    wall_seconds: float
    train_seconds: float | None
    compute_sku: str
    node_hours: float
    cost_usd: float | None
    price_source: str
    inspectable_steps: int
    user_code_lines: int | None
    deployment_steps: int | None
    artifacts: int | None
    estimates: tuple[TargetEstimate, ...] = ()


def _num(fmt: str) -> Callable[[Any], str]:
    return lambda value: "—" if value is None else format(value, fmt)


def _cost(value: Any) -> str:
    return "—" if value is None else f"${value:.4f}" if 0 < value < 0.01 else f"${value:.2f}"


def _estimate_cells(
    estimate: TargetEstimate, columns: list[tuple[str, str, Callable[[Any], str]]]
) -> list[str]:
    """The cells of a target-estimate row: where, and what it would cost (~$, or — unpriced)."""
    cost = "—" if estimate.usd is None else "~" + _cost(estimate.usd)
    shown = {"backend": f"≈ {estimate.title} ({estimate.sku})", "cost_usd": cost}
    return [shown.get(name, "") for name, _, _ in columns]


#: Displayed columns: (field, header, formatter); the frame and JSON keep every field.
COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("owner", "owner", str),
    ("workspace", "workspace", str),
    ("dataset", "dataset", str),
    ("backend", "backend", str),
    ("run_id", "run", lambda v: str(v)[:8]),
    ("accuracy", "acc", _num(".3f")),
    ("f1_macro", "F1", _num(".3f")),
    ("wall_seconds", "wall s", _num(".1f")),
    ("node_hours", "node-h", _num(".3f")),
    ("cost_usd", "cost", _cost),
    ("inspectable_steps", "inspect", _num("d")),
    ("user_code_lines", "code", _num("d")),
    ("deployment_steps", "deploy", _num("d")),
    ("artifacts", "files", _num("d")),
)
#: What the short headers mean (printed under the terminal table, shown in the HTML).
LEGEND = (
    "acc: accuracy; F1: F1 macro; wall s: run wall time; node-h: compute node-hours; "
    "cost: estimated USD; ≈ rows under a local run: what its measured time would cost on one "
    "node of each target that offers its backend (~$, an estimate at list prices, "
    "docs/prices.md); inspect: steps/trials/job parts you can open; code: lines of user "
    "code the native service needs; deploy: deployment steps; files: MLflow artifacts"
)
_NUMERIC = {name for name, _, _ in COLUMNS} - {"owner", "workspace", "dataset", "backend", "run_id"}


def inspectable_steps(run: TrainingRun) -> int:
    """What a student can open: designer steps, AutoML trials, or an sdk job and its log."""
    job_parts = 0 if run.job is None else 1 + bool(run.job.log_path)
    return len(run.steps) + len(run.trials) + job_parts


def primary_metric_of(run: TrainingRun) -> str:
    """The metric the run optimised, from its stored options (``accuracy`` when it has none)."""
    return run.options.primary_metric if run.options else "accuracy"


def model_family(run: TrainingRun) -> str:
    """The model family a run trained: its best trial's (AutoML), else its options' ``model``."""
    scored = [t for t in run.trials if t.score is not None]
    if scored:
        sign = -1.0 if lower_is_better(primary_metric_of(run)) else 1.0
        return max(scored, key=lambda t: sign * float(t.score or 0.0)).family
    return run.options.model if run.options else "unknown"


def _cost_of(run: TrainingRun, prices: Mapping[str, float] | None) -> tuple[float | None, str]:
    metrics = run.metrics
    if metrics is None:
        return None, "no metrics"
    if metrics.cost_usd > 0:
        return metrics.cost_usd, "reported by the backend"
    compute = metrics.compute
    try:
        return estimate_cost(compute.sku, compute.node_hours, overrides=prices), compute.sku
    except ConfigError as exc:
        return None, str(exc)


def workspace_label(tracking_uri: str) -> str:
    """A short name for the workspace whose run store is ``tracking_uri``: its folder's name.

    A hidden folder (``.cloudml``) is named with its parent (``alice/.cloudml``).
    """
    path = PurePath(tracking_uri.removeprefix("sqlite:///")).parent
    return f"{path.parent.name}/{path.name}" if path.name.startswith(".") else path.name


def _row(
    run: TrainingRun,
    prices: Mapping[str, float] | None,
    artifacts: bool,
    compute: CloudCompute | None,
) -> ComparisonRow:
    from cloudml_edu.report._artifacts import artifact_files

    metrics, profile = run.metrics, profile_of(run.backend)
    cost, source = _cost_of(run, prices)
    files = artifact_files(run) if artifacts else None
    local = run.target == LOCAL and run.ended is not None
    where = [t for t in all_targets().values() if t.price_basis and t.offers(run.backend)]
    hours = run.seconds / 3600
    estimates = [estimate_on(t, hours, compute, overrides=prices) for t in where] if local else []
    return ComparisonRow(
        run_id=run.id,
        owner=run.owner,
        workspace=workspace_label(run.tracking_uri),
        backend=run.backend,
        target=run.target,
        dataset=run.dataset,
        status=run.status,
        started=run.started,
        accuracy=None if metrics is None else metrics.accuracy,
        f1_macro=None if metrics is None else metrics.f1_macro,
        wall_seconds=round(run.seconds, 3),
        train_seconds=None if metrics is None else metrics.train_seconds,
        compute_sku="local" if metrics is None else metrics.compute.sku,
        node_hours=0.0 if metrics is None else metrics.compute.node_hours,
        cost_usd=cost,
        price_source=source,
        inspectable_steps=inspectable_steps(run),
        user_code_lines=None if profile is None else profile.user_code_lines,
        deployment_steps=None if profile is None else profile.deployment_steps,
        artifacts=None if files is None else len(files),
        estimates=tuple(estimates),
    )


class Comparison:
    """Rows of :func:`compare`, rendered as a rich table, a DataFrame, HTML or JSON records."""

    def __init__(self, rows: list[ComparisonRow], runs: list[TrainingRun]) -> None:
        self.rows = rows
        self.runs = runs

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def owners(self) -> list[str]:
        """Distinct owners, in row order."""
        return list(dict.fromkeys(row.owner for row in self.rows))

    @property
    def datasets(self) -> list[str]:
        """Distinct datasets, in row order."""
        return list(dict.fromkeys(row.dataset for row in self.rows))

    def _columns(self) -> list[tuple[str, str, Callable[[Any], str]]]:
        hidden = set()
        if len(self.owners) < 2:
            hidden.add("owner")
        if len({row.workspace for row in self.rows}) < 2:
            hidden.add("workspace")
        return [c for c in COLUMNS if c[0] not in hidden]

    def best(self, metric: str = "accuracy", *, dataset: str | None = None) -> ComparisonRow | None:
        """The row with the best ``metric`` among runs of ``dataset`` (highest, or lowest for
        a loss); None when no run has it, or when ``dataset`` is left out and rows span
        several datasets (runs on different data do not compare)."""
        if dataset is None:
            if len(self.datasets) != 1:
                return None
            dataset = self.datasets[0]
        scored = [r for r in self.rows if r.dataset == dataset and getattr(r, metric) is not None]
        sign = -1.0 if lower_is_better(metric) else 1.0
        return max(scored, key=lambda row: sign * getattr(row, metric), default=None)

    def _best_ids(self) -> set[str]:
        """The run marked best in each dataset that has at least two runs to choose from."""
        marked = set()
        for dataset in self.datasets:
            if sum(row.dataset == dataset for row in self.rows) > 1:
                best = self.best(dataset=dataset)
                if best is not None:
                    marked.add(best.run_id)
        return marked

    def to_records(self) -> list[dict[str, Any]]:
        """Every field of every row, JSON-ready (dates as ISO strings)."""
        return [{**asdict(row), "started": row.started.isoformat()} for row in self.rows]

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame with one row per run and every field as a column."""
        import pandas as pd

        return pd.DataFrame(
            [asdict(row) for row in self.rows], columns=[f.name for f in fields(ComparisonRow)]
        )

    def to_rich(self, *, title: str = "runs compared") -> Table:
        """A rich Table (owner column only when several owners are compared)."""
        from rich.table import Table

        table = Table(
            title=title,
            caption=LEGEND,
            box=None,
            padding=(0, 1, 0, 0),
            pad_edge=False,
            header_style="bold underline",
        )
        for name, header, _ in self._columns():
            table.add_column(header, justify="right" if name in _NUMERIC else "left", no_wrap=True)
        best = self._best_ids()
        columns = self._columns()
        for row in self.rows:
            style = "bold green" if row.run_id in best else None
            table.add_row(*(fmt(getattr(row, name)) for name, _, fmt in columns), style=style)
            for estimate in row.estimates:
                table.add_row(*_estimate_cells(estimate, columns), style="dim")
        return table

    def print(self, console: Console | None = None) -> None:
        """Print the table to ``console`` (default: a new one on stdout), never truncating a
        cell: a table wider than the terminal is printed at its own width."""
        from rich.console import Console

        console = console or Console()
        table = self.to_rich()
        natural = console.measure(table, options=console.options.update_width(10_000)).maximum
        width = console.width
        console.width = max(width, natural)
        try:
            console.print(table)
        finally:
            console.width = width

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import comparison_html

        return comparison_html(self, legend=LEGEND)

    def to_html(self) -> str:
        """The table as an HTML ``<table>`` (no styles or scripts; the report adds CSS)."""
        columns = self._columns()
        head = "".join(f"<th>{html.escape(header)}</th>" for _, header, _ in columns)
        best = self._best_ids()
        body = []
        for row in self.rows:
            texts = [fmt(getattr(row, name)) for name, _, fmt in columns]
            body.append(_tr(columns, texts, "best" if row.run_id in best else ""))
            body.extend(
                _tr(columns, _estimate_cells(e, columns), "estimate") for e in row.estimates
            )
        return f'<table class="comparison"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _tr(columns: list[tuple[str, str, Callable[[Any], str]]], texts: list[str], kind: str) -> str:
    cells = "".join(
        f'<td class="{"num" if name in _NUMERIC else "txt"}">{html.escape(text)}</td>'
        for (name, _, _), text in zip(columns, texts, strict=True)
    )
    mark = f' class="{kind}"' if kind else ""
    return f"<tr{mark}>{cells}</tr>"


def compare(
    runs: Iterable[TrainingRun],
    *,
    prices: Mapping[str, float] | None = None,
    artifacts: bool = True,
    compute: CloudCompute | None = None,
) -> Comparison:
    """Compare ``runs`` (any backends, owners, datasets) in one table.

    ``prices`` overrides the recorded price table (``workspace.config.prices``);
    ``artifacts=False`` skips counting each run's MLflow artifacts (no MLflow import);
    ``compute`` is the node size per target local runs are priced on for the estimate rows
    (``CloudCompute.from_config(ws.config)``; default: each target's own, Standard_DS3_v2).
    """
    chosen = _checked_runs(runs)
    return Comparison([_row(run, prices, artifacts, compute) for run in chosen], chosen)


def _checked_runs(runs: object) -> list[TrainingRun]:
    """``runs`` as a list of TrainingRun (one run alone is fine); anything else is a
    ConfigError naming what was given and how to get runs, before anything is read."""
    from cloudml_edu.run import TrainingRun

    how = "pass a list of runs, e.g. compare(TrainingRun.list(ws)) or compare([run1, run2])"
    if isinstance(runs, TrainingRun):
        return [runs]
    if runs is None or isinstance(runs, str | bytes) or not isinstance(runs, Iterable):
        raise ConfigError(f"compare() takes runs, got {type(runs).__name__}; {how}")
    chosen = list(runs)
    wrong = sorted({type(r).__name__ for r in chosen if not isinstance(r, TrainingRun)})
    if wrong:
        raise ConfigError(f"compare() takes TrainingRun objects, got {', '.join(wrong)}; {how}")
    return chosen
