"""``write_report(runs, out)``: one self-contained HTML page plus the PNG charts.

The page embeds every chart as a base64 ``data:`` URI and carries its own CSS:
no scripts, no fonts, no network; it opens offline and can be mailed or
uploaded as a single file.  The PNGs are written next to it for slides.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cloudml_edu._version import __version__
from cloudml_edu.errors import NotFoundError
from cloudml_edu.pricing import PRICES_RECORDED
from cloudml_edu.report.comparison import LEGEND, Comparison, compare
from cloudml_edu.report.profiles import PROFILES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cloudml_edu.report._artifacts import RunFiles
    from cloudml_edu.run import TrainingRun

__all__ = ["Report", "write_report"]

log = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;
color:#1b1b1b;padding:0 1rem}
h1{font-size:1.6rem}h2{border-bottom:2px solid #0b6cbd;padding-bottom:.2rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccd;padding:.25rem .55rem}th{background:#eef3fa;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.best{background:#e7f6e7;font-weight:600}
figure{display:inline-block;margin:.5rem 1rem .5rem 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #dde}figcaption{font-size:.8rem;color:#555}
.meta{color:#555;font-size:.85rem}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;font-size:.8rem}
.note{color:#8a5300}
"""


@dataclass
class Report:
    """What :func:`write_report` wrote: the HTML page and every PNG."""

    html: Path
    images: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Chart:
    name: str
    caption: str
    png: bytes


def _esc(value: object) -> str:
    return html.escape(str(value))


def _table(
    header: Iterable[str], rows: Iterable[Iterable[object]], *, numeric: Iterable[int] = ()
) -> str:
    right = set(numeric)
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i in right else "txt"}">{_esc(v)}</td>'
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure_html(chart: _Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(chart.caption)}">'
        f"<figcaption>{_esc(chart.caption)}</figcaption></figure>"
    )


class _RunSection:
    """Charts and tables of one run; a missing artifact drops its chart with a note."""

    def __init__(self, run: TrainingRun, files: RunFiles) -> None:
        self.run = run
        self.files = files
        self.charts: list[_Chart] = []
        self.notes: list[str] = []

    def chart(self, name: str, caption: str, draw: Callable[[], Figure]) -> None:
        from cloudml_edu.report.plots import to_png

        try:
            figure = draw()
        except NotFoundError as exc:
            self.notes.append(str(exc))
            return
        self.charts.append(_Chart(f"{self.run.id[:8]}-{name}", caption, to_png(figure)))

    def build(self) -> None:
        from cloudml_edu.report import plots

        run, metrics = self.run, self.run.metrics
        if metrics is not None and metrics.confusion_matrix:
            self.chart(
                "confusion",
                "confusion matrix (rows: true)",
                lambda: plots.confusion_matrix(metrics),
            )
        if metrics is not None and metrics.per_class:
            self.chart(
                "per-class", "precision and recall per class", lambda: plots.per_class(metrics)
            )
        if run.trials:
            self.chart(
                "trials", "AutoML: best score so far per trial", lambda: plots.trial_curve(run)
            )

        def feature_map() -> Figure:
            data = self.files.features()
            return plots.feature_map(data["X"], data["y"].tolist(), data["predicted"].tolist())

        self.chart("features", "test features, PCA; misclassified circled in red", feature_map)
        self.chart(
            "misclassified",
            "misclassified test images (true → predicted)",
            lambda: plots.misclassified_grid(self.files.misclassified()),
        )

    def html(self) -> str:
        run, metrics = self.run, self.run.metrics
        started = run.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        parts = [
            f'<section id="run-{_esc(run.id)}"><h2>{_esc(run.backend)} · {_esc(run.id[:8])}</h2>',
            f'<p class="meta">owner {_esc(run.owner)} · dataset {_esc(run.dataset)} · '
            f"target {_esc(run.target)} · {_esc(run.status)} · started {started} UTC · "
            f"{run.seconds:.1f} s · run id {_esc(run.id)}</p>",
        ]
        if run.error:
            parts.append(f'<p class="note">error: {_esc(run.error)}</p>')
        if metrics is not None:
            parts.append(
                _table(
                    ["class", "precision", "recall", "F1", "support"],
                    [
                        (c, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", r.support)
                        for c, r in metrics.per_class.items()
                    ],
                    numeric=(1, 2, 3, 4),
                )
            )
        parts.append(self._inspectable())
        parts += [_figure_html(chart) for chart in self.charts]
        parts += [f'<p class="note">{_esc(note)}</p>' for note in self.notes]
        parts.append("</section>")
        return "\n".join(parts)

    def _inspectable(self) -> str:
        run = self.run
        if run.steps:
            return "<h3>pipeline steps</h3>" + _table(
                ["step", "component", "status", "seconds", "parameters"],
                [
                    (s.name, s.component, s.status, f"{s.seconds:.2f}", _params(s.params))
                    for s in run.steps
                ],
                numeric=(3,),
            )
        if run.trials:
            return "<h3>trials</h3>" + _table(
                ["#", "family", "score", "seconds", "status", "parameters"],
                [
                    (
                        t.number,
                        t.family,
                        "—" if t.score is None else f"{t.score:.4f}",
                        f"{t.seconds:.2f}",
                        t.status,
                        _params(t.params),
                    )
                    for t in run.trials
                ],
                numeric=(0, 2, 3),
            )
        if run.job is not None:
            job = run.job
            return "<h3>job</h3>" + _table(
                ["command", "exit code", "seconds", "log"],
                [(" ".join(job.command), job.exit_code, f"{job.seconds:.1f}", job.log_path)],
                numeric=(1, 2),
            )
        return ""


def _params(params: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _profiles_html(backends: Iterable[str]) -> str:
    rows, code = [], []
    for name in dict.fromkeys(backends):
        profile = PROFILES.get(name)
        if profile is None:
            continue
        rows.append(
            (
                name,
                profile.service,
                profile.style,
                profile.user_code_lines,
                "; ".join(profile.deployment),
                profile.inspect,
            )
        )
        if profile.user_code:
            code.append(
                f"<details><summary>{_esc(name)}: the {profile.user_code_lines} lines</summary>"
                f"<pre>{_esc(profile.user_code)}</pre></details>"
            )
    if not rows:
        return ""
    return (
        "<h2>how each backend is used</h2>"
        + _table(
            [
                "backend",
                "native service",
                "style",
                "code lines",
                "deployment steps",
                "what you can inspect",
            ],
            rows,
            numeric=(3,),
        )
        + "".join(code)
    )


def _page(
    title: str, comparison: Comparison, overview: list[_Chart], sections: list[_RunSection]
) -> str:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">{len(comparison)} run(s) · owners: {_esc(", ".join(comparison.owners))} · '
        f"generated {generated} by cloudml-edu {__version__} · costs from list prices recorded "
        f"{PRICES_RECORDED} (see docs/prices.md)</p>",
        "<h2>comparison</h2>",
        comparison.to_html(),
        f'<p class="meta">{_esc(LEGEND)}</p>',
        *(_figure_html(chart) for chart in overview),
        _profiles_html(row.backend for row in comparison.rows),
        *(section.html() for section in sections),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(
    runs: Iterable[TrainingRun],
    out: str | os.PathLike[str],
    *,
    prices: Mapping[str, float] | None = None,
    title: str = "cloudml-edu report",
    comparison: Comparison | None = None,
) -> Report:
    """Write ``out/report.html`` (self-contained) and ``out/*.png`` for ``runs``.

    ``prices`` overrides the recorded price table; pass ``comparison`` to reuse one.
    """
    from cloudml_edu.report import plots
    from cloudml_edu.report._artifacts import RunFiles

    chosen = list(runs)
    table = comparison or compare(chosen, prices=prices)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    overview = [
        _Chart(
            "comparison",
            "accuracy and F1 macro across runs",
            plots.to_png(plots.metric_comparison(table)),
        )
    ]
    sections = []
    with tempfile.TemporaryDirectory(prefix="cloudml-report-") as tmp:
        for run in chosen:
            section = _RunSection(run, RunFiles(run, Path(tmp, run.id)))
            section.build()
            sections.append(section)
    page = folder / "report.html"
    page.write_text(_page(title, table, overview, sections), encoding="utf-8")
    report = Report(page)
    for chart in overview + [c for s in sections for c in s.charts]:
        path = folder / f"{chart.name}.png"
        path.write_bytes(chart.png)
        report.images.append(path)
    report.notes = [note for s in sections for note in s.notes]
    for note in report.notes:
        log.warning("report: %s", note)
    return report
