"""The report's charts, drawn with matplotlib's Agg renderer (no display, thread-free).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`to_png` turns it
into PNG bytes.  Figures are built directly (not through ``pyplot``), so nothing
global is touched and no GUI backend is ever selected.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cloudml_edu.metrics import lower_is_better
from cloudml_edu.report.comparison import primary_metric_of

if TYPE_CHECKING:
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
]

DPI = 90


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


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def confusion_matrix(metrics: Metrics, *, title: str = "confusion matrix") -> Figure:
    """Counts of true (rows) against predicted (columns) labels."""
    matrix = np.asarray(metrics.confusion_matrix, dtype=int)
    labels = metrics.labels
    size = max(3.5, 0.45 * len(labels) + 1.5)
    fig = _figure(size, size, bottom=0.75)
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")  # counts are written in the cells: no colour bar needed
    ax.set(
        xticks=range(len(labels)),
        yticks=range(len(labels)),
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    ax.set_xticklabels(labels, rotation=45 if max(map(len, labels), default=0) > 2 else 0)
    ax.set_yticklabels(labels)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if count > threshold else "black",
            )
    return fig


def per_class(metrics: Metrics, *, title: str = "precision and recall per class") -> Figure:
    """Grouped bars of precision and recall for every class."""
    labels = list(metrics.per_class)
    x = np.arange(len(labels))
    fig = _figure(max(4.5, 0.5 * len(labels) + 2), 3.2)
    ax = fig.add_subplot()
    ax.bar(x - 0.2, [metrics.per_class[c].precision for c in labels], 0.4, label="precision")
    ax.bar(x + 0.2, [metrics.per_class[c].recall for c in labels], 0.4, label="recall")
    ax.set(xticks=x, ylim=(0, 1.32), yticks=np.linspace(0, 1, 6), ylabel="score", title=title)
    ax.set_xticklabels(labels)
    ax.legend(loc="upper center", ncols=2, fontsize=8, frameon=False)  # above bars near 1.0
    return fig


def metric_comparison(
    comparison: Comparison, *, metrics: Sequence[str] = ("accuracy", "f1_macro")
) -> Figure:
    """Grouped bars of ``metrics`` for every compared run."""
    rows = comparison.rows
    names = [
        f"{r.owner}/{r.backend}\n{r.run_id[:8]}"
        if len(comparison.owners) > 1
        else f"{r.backend}\n{r.run_id[:8]}"
        for r in rows
    ]
    x = np.arange(len(rows))
    width = 0.8 / len(metrics)
    fig = _figure(max(4.5, 0.9 * len(rows) + 2), 3.4, bottom=0.8)
    ax = fig.add_subplot()
    for k, metric in enumerate(metrics):
        values = [getattr(r, metric) or 0.0 for r in rows]
        bars = ax.bar(x + (k - (len(metrics) - 1) / 2) * width, values, width, label=metric)
        ax.bar_label(bars, fmt="%.3f", fontsize=6, rotation=90, padding=2)  # differences are small
    ax.set(xticks=x, ylim=(0, 1.32), yticks=np.linspace(0, 1, 6), title="metrics across runs")
    ax.set_xticklabels(names, fontsize=8)
    ax.legend(loc="upper center", ncols=2, fontsize=8, frameon=False)  # above bars near 1.0
    return fig


def best_so_far(scores: Sequence[float], *, lower_is_better: bool = False) -> list[float]:
    """The running best of ``scores`` (minimum for losses, maximum otherwise)."""
    pick = min if lower_is_better else max
    running: list[float] = []
    for value in scores:
        running.append(value if not running else pick(running[-1], value))
    return running


def trial_curve(run: TrainingRun) -> Figure:
    """Each trial's score and the best score so far against the trial number."""
    metric = primary_metric_of(run)
    lower = lower_is_better(metric)
    trials = sorted((t for t in run.trials if t.score is not None), key=lambda t: t.number)
    numbers = [t.number for t in trials]
    scores = [float(t.score or 0.0) for t in trials]
    best = best_so_far(scores, lower_is_better=lower)
    fig = _figure(5.5, 3.2)
    ax = fig.add_subplot()
    ax.scatter(numbers, scores, s=18, color="tab:gray", label="trial")
    ax.step(numbers, best, where="post", color="tab:blue", label="best so far")
    for t in trials:
        ax.annotate(
            t.family,
            (t.number, float(t.score or 0)),
            fontsize=6,
            rotation=30,
            xytext=(2, 3),
            textcoords="offset points",
        )
    ax.set(xlabel="trial", ylabel=f"validation {metric}", title="AutoML trials")
    ax.legend(loc="upper right" if lower else "lower right")
    return fig


def pca_2d(features: npt.ArrayLike, *, seed: int = 0) -> npt.NDArray[np.float64]:
    """The first two principal components of ``features`` (rows are samples).

    A randomized range finder with power iterations (Halko et al.): a few matrix
    products instead of a full SVD, which is ten times slower at a few hundred features.
    """
    data = np.asarray(features, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        return np.zeros((len(data), 2))
    centered = data - data.mean(axis=0)
    rank = min(10, *centered.shape)
    basis = centered @ np.random.default_rng(seed).standard_normal((centered.shape[1], rank))
    for _ in range(4):
        basis, _ = np.linalg.qr(centered @ (centered.T @ basis))
    _, _, components = np.linalg.svd(basis.T @ centered, full_matrices=False)
    projected = centered @ components[:2].T
    if projected.shape[1] < 2:  # a single feature: pad the second axis
        projected = np.column_stack([projected, np.zeros(len(projected))])
    return np.asarray(projected, dtype=np.float64)


def feature_map(features: npt.ArrayLike, labels: Sequence[str], predicted: Sequence[str]) -> Figure:
    """The test features projected to 2-D (PCA), coloured by true label, errors circled."""
    points = pca_2d(features)
    truth, guess = np.asarray(labels).astype(str), np.asarray(predicted).astype(str)
    classes = sorted(set(truth))
    colormap = "tab10" if len(classes) <= 10 else "tab20"
    fig = _figure(5.5, 4.2)
    ax = fig.add_subplot()
    colors = {c: i for i, c in enumerate(classes)}
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=[colors[t] for t in truth],
        cmap=colormap,
        vmin=0,
        vmax=max(len(classes) - 1, 1),
        s=10,
        alpha=0.8,
    )
    wrong = truth != guess
    ax.scatter(
        points[wrong, 0],
        points[wrong, 1],
        s=60,
        facecolors="none",
        edgecolors="red",
        linewidths=1.2,
        label=f"misclassified ({int(wrong.sum())})",
    )
    for c in classes:
        centre = points[truth == c].mean(axis=0)
        ax.annotate(c, centre, fontsize=9, weight="bold", ha="center")
    ax.set(xlabel="PC 1", ylabel="PC 2", title="test features (PCA)")
    ax.legend(loc="upper right", fontsize=8)  # "best" searches every position: slow
    return fig


def misclassified_grid(
    items: Sequence[Misclassified], *, columns: int = 6, tile: int = 48
) -> Figure:
    """Misclassified test images in one mosaic, each labelled ``true → predicted``."""
    from PIL import Image

    count = max(len(items), 1)
    cols = min(columns, count)
    rows = math.ceil(count / cols)
    cell = tile + 18  # room for the label above each image
    mosaic = np.full((rows * cell, cols * (tile + 6)), 255, dtype=np.uint8)
    fig = _figure(cols * 0.9 + 0.2, rows * 1.2 + 0.2, left=0.1, bottom=0.1, right=0.1, top=0.1)
    ax = fig.add_subplot()
    for k, item in enumerate(items):
        r, c = divmod(k, cols)
        image = Image.open(io.BytesIO(item.image)).convert("L").resize((tile, tile))
        y, x = r * cell + 16, c * (tile + 6) + 3
        mosaic[y : y + tile, x : x + tile] = np.asarray(image)
        ax.text(
            x + tile / 2,
            y - 3,
            f"{item.label} → {item.predicted}",
            ha="center",
            va="bottom",
            fontsize=7,
            color="darkred",
        )
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
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
