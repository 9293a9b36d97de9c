"""The report's charts, drawn with matplotlib's Agg renderer (no display, thread-free).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`to_png` turns it
into PNG bytes at 150 dpi (sharp on slides).  Colours come from :mod:`.palette`
(safe for colour-blind readers); legends sit outside the data.  Figures are built directly (not through ``pyplot``), so nothing
global is touched and no GUI backend is ever selected.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cloudml_edu.metrics import lower_is_better
from cloudml_edu.report.comparison import primary_metric_of
from cloudml_edu.report.palette import OKABE_ITO, class_styles
from cloudml_edu.report.projection import pca_2d

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from cloudml_edu.metrics import Metrics
    from cloudml_edu.report._artifacts import Misclassified
    from cloudml_edu.report.comparison import Comparison
    from cloudml_edu.run import TrainingRun

__all__ = [
    "best_so_far",
    "confusion_matrix",
    "feature_map",
    "metric_comparison",
    "misclassified_grid",
    "pca_2d",
    "per_class",
    "to_png",
    "trial_curve",
    "zoomed_range",
]

DPI = 150


def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.75,
    bottom: float = 0.6,
    right: float = 0.2,
    top: float = 0.35,
) -> Figure:
    """A figure with fixed margins in inches (a layout engine would triple the drawing time)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=left / width, bottom=bottom / height, right=1 - right / width, top=1 - top / height
    )
    return fig


def _legend_outside(ax: Axes, **options: Any) -> None:
    """A legend right of the axes, so it never covers data (the figure keeps a right margin)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, **options)


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at :data:`DPI` dots per inch."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def confusion_matrix(metrics: Metrics, *, title: str = "confusion matrix") -> Figure:
    """Counts of true (rows) against predicted (columns) labels, written large in each cell."""
    matrix = np.asarray(metrics.confusion_matrix, dtype=int)
    labels = metrics.labels
    n = max(len(labels), 1)
    cell = 0.5 if n <= 12 else 0.35
    size = max(3.8, cell * n + 1.6)
    fig = _figure(size, size, left=0.9, bottom=0.8, top=0.45)
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues", vmin=0)  # counts are written in the cells: no colour bar
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)))
    ax.set_xlabel("predicted", fontsize=11)
    ax.set_ylabel("true", fontsize=11)
    ax.set_title(title, fontsize=12)
    ax.set_xticklabels(labels, rotation=45 if max(map(len, labels), default=0) > 2 else 0)
    ax.set_yticklabels(labels)
    ax.tick_params(labelsize=10)
    fontsize = 12 if n <= 8 else 10 if n <= 12 else 7
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=fontsize,
                weight="bold",
                color="white" if count > threshold else "black",
            )
    return fig


def per_class(metrics: Metrics, *, title: str = "precision and recall per class") -> Figure:
    """Grouped bars of precision and recall for every class."""
    labels = list(metrics.per_class)
    x = np.arange(len(labels))
    fig = _figure(max(4.5, 0.5 * len(labels) + 2), 3.2)
    ax = fig.add_subplot()
    for k, (name, offset) in enumerate((("precision", -0.2), ("recall", 0.2))):
        values = [getattr(metrics.per_class[c], name) for c in labels]
        ax.bar(x + offset, values, 0.4, label=name, color=OKABE_ITO[k])
    ax.set(xticks=x, ylim=(0, 1.32), yticks=np.linspace(0, 1, 6), ylabel="score", title=title)
    ax.set_xticklabels(labels)
    ax.legend(loc="upper center", ncols=2, fontsize=8, frameon=False)  # above bars near 1.0
    return fig


def zoomed_range(values: Sequence[float]) -> tuple[float, float]:
    """An axis range that shows the differences between scores in [0, 1].

    Starting at 0 makes 0.983 and 0.994 look alike; this starts a little below the
    lowest value (at a round hundredth) and ends at the highest, at most 1.
    """
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    spread = max(high - low, 0.01)
    start = max(0.0, math.floor((low - 0.6 * spread) * 100) / 100)
    return start, min(1.0, max(high, start + 0.01))


def metric_comparison(
    comparison: Comparison, *, metrics: Sequence[str] = ("accuracy", "f1_macro")
) -> Figure:
    """Horizontal bars of ``metrics`` for every compared run, on a zoomed axis, values written."""
    rows = comparison.rows
    multi = len(comparison.owners) > 1
    names = [
        f"{r.owner}/{r.backend} {r.run_id[:8]}" if multi else f"{r.backend} {r.run_id[:8]}"
        for r in rows
    ]
    y = np.arange(len(rows))
    height = 0.8 / len(metrics)
    left = 0.3 + 0.075 * max(map(len, names), default=4)
    fig = _figure(
        7.0 + left - 1.0, 0.35 * len(rows) * len(metrics) + 1.3, left=left, right=1.4, bottom=0.6
    )
    ax = fig.add_subplot()
    shown = [v for r in rows for m in metrics if (v := getattr(r, m)) is not None]
    start, end = zoomed_range(shown)
    for k, metric in enumerate(metrics):
        values = [getattr(r, metric) for r in rows]
        bars = ax.barh(
            y + (k - (len(metrics) - 1) / 2) * height,
            [start if v is None else v for v in values],
            height,
            left=0,
            label=metric,
            color=OKABE_ITO[k % len(OKABE_ITO)],
        )
        ax.bar_label(
            bars,
            labels=["n/a" if v is None else f"{v:.3f}" for v in values],
            fontsize=8,
            padding=3,
        )
    ticks = [
        t
        for t in MaxNLocator(nbins=5, steps=[1, 2, 5, 10]).tick_values(start, end)
        if start <= t <= end
    ]
    ax.set_xticks(ticks)
    ax.set_xticklabels(
        [f"{t:.3f}".rstrip("0").rstrip(".") if t else "0" for t in ticks], fontsize=8
    )
    ax.set_xlim(start, end + 0.18 * (end - start))  # room for the value labels
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=9)
    ax.invert_yaxis()  # first run on top, as in the table
    ax.set_xlabel(f"score (axis starts at {start:.2f}, not 0)", fontsize=9)
    ax.set_title("metrics across runs")
    _legend_outside(ax, fontsize=8)
    return fig


def best_so_far(scores: Sequence[float], *, lower_is_better: bool = False) -> list[float]:
    """The running best of ``scores`` (minimum for losses, maximum otherwise)."""
    pick = min if lower_is_better else max
    running: list[float] = []
    for value in scores:
        running.append(value if not running else pick(running[-1], value))
    return running


def trial_curve(run: TrainingRun) -> Figure:
    """Each trial's score (coloured by model family) and the best score so far, per trial."""
    metric = primary_metric_of(run)
    lower = lower_is_better(metric)
    trials = sorted((t for t in run.trials if t.score is not None), key=lambda t: t.number)
    numbers = [t.number for t in trials]
    scores = [float(t.score or 0.0) for t in trials]
    best = best_so_far(scores, lower_is_better=lower)
    fig = _figure(7.2, 3.4, right=2.0, left=0.85)
    ax = fig.add_subplot()
    ax.step(numbers, best, where="post", color="black", linewidth=1.5, label="best so far")
    styles = class_styles(sorted({t.family for t in trials}))
    for family, (color, marker) in styles.items():
        mine = [t for t in trials if t.family == family]
        ax.scatter(
            [t.number for t in mine],
            [float(t.score or 0.0) for t in mine],
            s=36,
            color=color,
            marker=marker,
            edgecolors="black",
            linewidths=0.4,
            label=family,
            zorder=3,
        )
    if numbers:
        ax.set_xticks(numbers if len(numbers) <= 20 else numbers[:: math.ceil(len(numbers) / 20)])
    ax.set(xlabel="trial", ylabel=f"validation {metric}", title="AutoML trials")
    ax.grid(axis="y", color="#ddd", linewidth=0.6)
    ax.margins(x=0.05, y=0.12)  # the best score stays off the frame
    _legend_outside(ax, fontsize=8, title="model family", title_fontsize=8)
    return fig


def feature_map(features: npt.ArrayLike, labels: Sequence[str], predicted: Sequence[str]) -> Figure:
    """The test features projected to 2-D (PCA), one colour and marker per class, errors ringed."""
    points = pca_2d(features)
    truth, guess = np.asarray(labels).astype(str), np.asarray(predicted).astype(str)
    classes = sorted(set(truth))
    fig = _figure(6.8, 4.4, right=1.9)
    ax = fig.add_subplot()
    for c, (color, marker) in class_styles(classes).items():
        mine = truth == c
        ax.scatter(
            points[mine, 0], points[mine, 1], s=14, color=color, marker=marker, alpha=0.85, label=c
        )
    wrong = truth != guess
    ax.scatter(
        points[wrong, 0],
        points[wrong, 1],
        s=90,
        facecolors="none",
        edgecolors="black",
        linewidths=1.4,
        label=f"misclassified ({int(wrong.sum())})",
    )
    for c in classes:
        centre = points[truth == c].mean(axis=0)
        ax.annotate(
            c,
            centre,
            fontsize=9,
            weight="bold",
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
        )
    ax.set(xlabel="PC 1", ylabel="PC 2", title="test features (PCA)")
    _legend_outside(
        ax,
        fontsize=8,
        title="true class",
        title_fontsize=8,
        ncols=1 if len(classes) <= 12 else 2,
        markerscale=1.3,
    )
    return fig


def misclassified_grid(
    items: Sequence[Misclassified], *, columns: int = 6, tile: int = 96
) -> Figure:
    """The misclassified test photos (in colour, aspect kept) in one mosaic, ``true → predicted``."""
    from PIL import Image

    count = max(len(items), 1)
    cols = min(columns, count)
    rows = math.ceil(count / cols)
    label = 26  # pixels above each photo for its label
    cell_w, cell_h = tile + 8, tile + label
    mosaic = np.full((rows * cell_h, cols * cell_w, 3), 255, dtype=np.uint8)
    scale = 1.3 / tile  # inches per mosaic pixel
    fig = _figure(
        cols * cell_w * scale + 0.2,
        rows * cell_h * scale + 0.2,
        left=0.1,
        bottom=0.1,
        right=0.1,
        top=0.1,
    )
    ax = fig.add_subplot()
    for k, item in enumerate(items):
        r, c = divmod(k, cols)
        photo = Image.open(io.BytesIO(item.image)).convert("RGB")
        fit = tile / max(photo.size)  # small images (digits are 32 px) are enlarged to the tile
        photo = photo.resize(
            (max(1, round(photo.width * fit)), max(1, round(photo.height * fit))),
            Image.Resampling.NEAREST if fit > 1 else Image.Resampling.LANCZOS,
        )
        y = r * cell_h + label + (tile - photo.height) // 2
        x = c * cell_w + 4 + (tile - photo.width) // 2
        mosaic[y : y + photo.height, x : x + photo.width] = np.asarray(photo)
        ax.text(
            c * cell_w + cell_w / 2,
            r * cell_h + label - 4,
            f"{item.label} → {item.predicted}",
            ha="center",
            va="bottom",
            fontsize=8,
            color="#B00000",
        )
    ax.imshow(mosaic, interpolation="nearest")
    if not items:
        ax.text(
            mosaic.shape[1] / 2,
            mosaic.shape[0] / 2,
            "no misclassified images",
            ha="center",
            va="center",
        )
    ax.axis("off")
    return fig
