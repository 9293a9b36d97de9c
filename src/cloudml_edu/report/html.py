"""``write_report(runs, out)``: one self-contained HTML page plus the PNG charts.

The page embeds every chart and thumbnail as a base64 ``data:`` URI and carries
its own CSS: no scripts, no fonts, no network; it opens offline and can be mailed
or uploaded as a single file.  The PNGs (150 dpi) are written next to it for slides.

Sections, listed in a table of contents at the top: the comparison, each
dataset's summary, how each backend is used, one section per run (settings,
per-class table, what can be inspected, charts) and, when given, new images.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import struct
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cloudml_edu._paths import ensure_dir, user_paths
from cloudml_edu._version import __version__
from cloudml_edu.errors import NotFoundError
from cloudml_edu.pricing import PRICES_RECORDED
from cloudml_edu.report.comparison import LEGEND, Comparison, compare
from cloudml_edu.report.profiles import PROFILES
from cloudml_edu.report.settings import run_settings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cloudml_edu.datasets import Dataset
    from cloudml_edu.report._artifacts import RunFiles
    from cloudml_edu.report.new_images import NewImage
    from cloudml_edu.report.summary import DatasetSummary
    from cloudml_edu.run import TrainingRun

__all__ = ["Report", "write_report"]

log = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;
color:#1b1b1b;padding:0 1rem;line-height:1.4}
h1{font-size:1.6rem}h2{border-bottom:2px solid #0072b2;padding-bottom:.2rem;margin-top:2.5rem}
nav.toc{background:#f4f7fb;border:1px solid #dde;padding:.5rem 1rem;display:inline-block}
nav.toc ol{margin:.3rem 0;padding-left:1.3rem}nav.toc a{color:#0b5394}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccd;padding:.25rem .55rem;vertical-align:top}th{background:#eef3fa;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.best{background:#e7f6e7;font-weight:600}tr.estimate{color:#666}
td.wrap{word-break:break-all;min-width:12rem}
figure{display:inline-block;margin:.5rem 1rem .5rem 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;border:1px solid #dde}figcaption{font-size:.8rem;color:#555}
img.thumb{border:1px solid #dde;margin:0 .2rem .2rem 0;vertical-align:middle;height:48px;
image-rendering:pixelated}table.dataset td{vertical-align:middle}
.meta{color:#555;font-size:.85rem}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;font-size:.8rem}
.note{color:#8a5300}@media (max-width:40rem){.scroll table{min-width:34rem}}.grid{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-start}
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
    header: Iterable[str],
    rows: Iterable[Iterable[object]],
    *,
    numeric: Iterable[int] = (),
    wrap: Iterable[int] = (),
) -> str:
    right, long = set(numeric), set(wrap)
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i in right else "wrap" if i in long else "txt"}">{_esc(v)}</td>'
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _css_width(png: bytes) -> int:
    """The PNG's width in CSS pixels (96 per inch), so 150-dpi charts show at their drawn size."""
    from cloudml_edu.report.plots import DPI

    pixels: int = struct.unpack(">I", png[16:20])[0]  # IHDR width
    return round(pixels * 96 / DPI)


def _figure_html(chart: _Chart) -> str:
    return (
        f'<figure><img src="{_png_uri(chart.png)}" width="{_css_width(chart.png)}" '
        f'alt="{_esc(chart.caption)}"><figcaption>{_esc(chart.caption)}</figcaption></figure>'
    )


def _thumb_html(png: bytes, alt: str) -> str:
    return f'<img class="thumb" src="{_png_uri(png)}" alt="{_esc(alt)}">'


class _RunSection:
    """Charts and tables of one run; a missing artifact drops its chart with a note."""

    def __init__(self, run: TrainingRun, files: RunFiles) -> None:
        self.run = run
        self.files = files
        self.charts: list[_Chart] = []
        self.notes: list[str] = []

    @property
    def anchor(self) -> str:
        return f"run-{self.run.id}"

    @property
    def title(self) -> str:
        return f"{self.run.backend} · {self.run.id[:8]}"

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
                "trials",
                "AutoML: each trial by model family, and the best score so far",
                lambda: plots.trial_curve(run),
            )

        def feature_map() -> Figure:
            data = self.files.features()
            return plots.feature_map(data["X"], data["y"].tolist(), data["predicted"].tolist())

        self.chart("features", "test features, PCA; misclassified ringed in black", feature_map)
        self.chart(
            "misclassified",
            "misclassified test photos (true → predicted)",
            lambda: plots.misclassified_grid(self.files.misclassified()),
        )

    def html(self) -> str:
        run, metrics = self.run, self.run.metrics
        started = run.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        parts = [
            f'<section id="{_esc(self.anchor)}"><h2>{_esc(self.title)}</h2>',
            f'<p class="meta">owner {_esc(run.owner)} · dataset {_esc(run.dataset)} · '
            f"target {_esc(run.target)} · {_esc(run.status)} · started {started} UTC · "
            f"{run.seconds:.1f} s · run id {_esc(run.id)}</p>",
        ]
        if run.error:
            parts.append(f'<p class="note">error: {_esc(run.error)}</p>')
        parts.append("<h3>settings</h3>" + _table(["setting", "value"], run_settings(run)))
        if metrics is not None:
            parts.append(
                "<h3>per class</h3>"
                + _table(
                    ["class", "precision", "recall", "F1", "support"],
                    [
                        (c, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", r.support)
                        for c, r in metrics.per_class.items()
                    ],
                    numeric=(1, 2, 3, 4),
                )
            )
        parts.append(self._inspectable())
        parts.append(
            '<div class="grid">' + "".join(_figure_html(c) for c in self.charts) + "</div>"
        )
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
                wrap=(0, 3),
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
        '<h2 id="backends">how each backend is used</h2>'
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


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _dataset_html(summary: DatasetSummary) -> str:
    smallest = summary.smallest_class
    modes = ", ".join(f"{mode} ({n})" for mode, n in sorted(summary.modes.items()))
    meta = (
        f"{summary.images} images · {len(summary.classes)} classes · "
        f"{_megabytes(summary.total_bytes)} · colour modes: {modes}"
    )
    meta += f" · owner {summary.owner}" if summary.owner else ""
    meta += f" · version {summary.version}" if summary.version else ""
    if smallest is not None:
        meta += f" · smallest class: {smallest.label} ({smallest.images})"
    rows = "".join(
        f'<tr><td class="txt">{_esc(c.label)}</td><td class="num">{c.images}</td>'
        f'<td class="num">{c.median_width}×{c.median_height}</td><td class="txt">'
        + "".join(_thumb_html(png, f"{c.label} sample") for png in c.samples)
        + "</td></tr>"
        for c in summary.classes
    )
    return (
        f'<section id="dataset-{_esc(summary.name)}"><h2>dataset · {_esc(summary.name)}</h2>'
        f'<p class="meta">{_esc(meta)}</p><div class="scroll"><table class="dataset"><thead><tr><th>class</th>'
        "<th>images</th><th>median size (px)</th><th>samples</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div></section>"
    )


def _new_images_html(items: Sequence[NewImage]) -> str:
    from cloudml_edu.report.summary import thumbnail

    rows = []
    for item in items:
        path = Path(item.image)
        picture = _thumb_html(thumbnail(path.read_bytes()), item.image) if path.is_file() else "—"
        others = ", ".join(f"{label} {score:.2f}" for label, score in item.top(3))
        rows.append(
            f'<tr><td>{picture}</td><td class="wrap">{_esc(item.image)}</td>'
            f'<td class="txt"><b>{_esc(item.label)}</b></td><td class="num">{item.score:.3f}</td>'
            f'<td class="txt">{_esc(others)}</td></tr>'
        )
    return (
        '<section id="new-images"><h2>new images</h2>'
        '<p class="meta">images the model never saw, sent to the endpoint; '
        "is the answer right, and how sure was it?</p>"
        '<div class="scroll"><table><thead><tr><th>image</th><th>file</th><th>predicted</th>'
        f"<th>score</th><th>top classes</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</div></section>"
    )


def _toc(entries: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="#{_esc(a)}">{_esc(t)}</a></li>' for a, t in entries)
    return f'<nav class="toc" id="contents"><b>contents</b><ol>{items}</ol></nav>'


def _page(
    title: str,
    comparison: Comparison,
    overview: list[_Chart],
    sections: list[_RunSection],
    datasets: Sequence[DatasetSummary],
    new_images: Sequence[NewImage],
) -> str:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    profiles = _profiles_html(row.backend for row in comparison.rows)
    toc = [("comparison", "comparison")]
    toc += [(f"dataset-{d.name}", f"dataset · {d.name}") for d in datasets]
    toc += [("backends", "how each backend is used")] if profiles else []
    toc += [(s.anchor, s.title) for s in sections]
    toc += [("new-images", "new images")] if new_images else []
    body = [
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">{len(comparison)} run(s) · owners: {_esc(", ".join(comparison.owners))} · '
        f"generated {generated} by cloudml-edu {__version__} · costs from list prices recorded "
        f"{PRICES_RECORDED} (see docs/prices.md)</p>",
        _toc(toc),
        '<h2 id="comparison">comparison</h2>',
        '<div class="scroll">' + comparison.to_html() + "</div>",
        f'<p class="meta">{_esc(LEGEND)}</p>',
        *(_figure_html(chart) for chart in overview),
        *(_dataset_html(d) for d in datasets),
        profiles,
        *(section.html() for section in sections),
        _new_images_html(new_images) if new_images else "",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )


def write_report(
    runs: Iterable[TrainingRun],
    out: str | os.PathLike[str],
    *,
    prices: Mapping[str, float] | None = None,
    title: str = "cloudml-edu report",
    comparison: Comparison | None = None,
    datasets: Iterable[Dataset] = (),
    new_images: Iterable[NewImage] = (),
) -> Report:
    """Write ``out/report.html`` (self-contained) and ``out/*.png`` for ``runs``.

    ``prices`` overrides the recorded price table; pass ``comparison`` to reuse one.
    ``datasets`` adds a summary of each (classes, counts, sizes, thumbnails);
    ``new_images`` adds a "new images" section (see :mod:`cloudml_edu.report.new_images`).
    """
    from cloudml_edu.report import plots
    from cloudml_edu.report._artifacts import RunFiles
    from cloudml_edu.report.summary import summarize

    folder = ensure_dir(out, what="report folder")  # before any chart is drawn
    chosen = list(runs)
    table = comparison or compare(chosen, prices=prices)
    overview = [
        _Chart(
            "comparison",
            "accuracy and F1 macro across runs (zoomed axis)",
            plots.to_png(plots.metric_comparison(table)),
        )
    ]
    sections = []
    with tempfile.TemporaryDirectory(prefix="cloudml-report-") as tmp:
        for run in chosen:
            section = _RunSection(run, RunFiles(run, Path(tmp, run.id)))
            section.build()
            sections.append(section)
    summaries = [summarize(dataset) for dataset in datasets]
    page = folder / "report.html"
    report = Report(page)
    with user_paths(folder, what="report folder"):
        page.write_text(
            _page(title, table, overview, sections, summaries, list(new_images)), encoding="utf-8"
        )
        for chart in overview + [c for s in sections for c in s.charts]:
            path = folder / f"{chart.name}.png"
            path.write_bytes(chart.png)
            report.images.append(path)
    report.notes = [note for s in sections for note in s.notes]
    for note in report.notes:
        log.warning("report: %s", note)
    return report
