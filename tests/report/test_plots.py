"""The charts: correct data drawn, PNG output, no GUI backend."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from report_fakes import Trained, synthetic_run

from cloudml_edu.report import compare, plots
from cloudml_edu.report._artifacts import Misclassified, RunFiles
from cloudml_edu.run import TrialRecord

# One worker trains the session's runs once for every report test (pytest -n with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("report")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data)).size


def test_confusion_matrix_writes_every_nonzero_count() -> None:
    run = synthetic_run(labels=("a", "b", "c"))
    assert run.metrics is not None
    fig = plots.confusion_matrix(run.metrics)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["8"] * 3 + ["1"] * 6)
    width, height = _png_size(plots.to_png(fig))
    assert width > 200 and height > 200


def test_per_class_bars_match_the_metrics(trained: Trained) -> None:
    metrics = trained.runs["designer"].metrics
    assert metrics is not None
    ax = plots.per_class(metrics).axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    expected = [r.precision for r in metrics.per_class.values()] + [
        r.recall for r in metrics.per_class.values()
    ]
    assert heights == pytest.approx(expected)


def test_metric_comparison_has_one_group_per_run_on_a_zoomed_axis(trained: Trained) -> None:
    table = compare(trained.student, artifacts=False)
    ax = plots.metric_comparison(table).axes[0]
    assert len(ax.patches) == 2 * len(trained.student)
    accuracies = [r.accuracy for r in table.rows]
    assert [bar.get_width() for bar in ax.patches[: len(table)]] == pytest.approx(accuracies)
    low, _ = ax.get_xlim()
    assert 0.5 < low < min(a for a in accuracies if a is not None)  # zoomed, not from 0
    written = {t.get_text() for t in ax.texts}
    assert {f"{a:.3f}" for a in accuracies} <= written
    assert "not 0" in ax.get_xlabel()


def test_zoomed_range_starts_below_the_lowest_score_and_ends_at_most_at_one() -> None:
    assert plots.zoomed_range([0.983, 0.994]) == (0.97, 0.994)
    assert plots.zoomed_range([0.2, 0.9]) == (0.0, 0.9)
    assert plots.zoomed_range([1.0, 1.0]) == (0.99, 1.0)
    assert plots.zoomed_range([]) == (0.0, 1.0)


def test_class_styles_never_repeat_colour_and_marker_together() -> None:
    from cloudml_edu.report.palette import OKABE_ITO, class_styles

    styles = class_styles([str(i) for i in range(20)])
    assert len(set(styles.values())) == 20
    assert styles["0"][0] == styles["8"][0] == OKABE_ITO[0] and styles["0"][1] != styles["8"][1]


def test_trial_curve_steps_through_the_best_so_far() -> None:
    assert plots.best_so_far([0.5, 0.4, 0.7, 0.6]) == [0.5, 0.5, 0.7, 0.7]
    assert plots.best_so_far([0.9, 1.2, 0.3], lower_is_better=True) == [0.9, 0.9, 0.3]
    run = synthetic_run(backend="automl")
    run.trials = [
        TrialRecord(number=n, family="knn", params={}, score=s, seconds=0.1, run_id=str(n))
        for n, s in ((1, 0.5), (2, 0.4), (3, 0.7), (4, None))
    ]
    run.trials[1] = run.trials[1].model_copy(update={"family": "svc"})
    fig = plots.trial_curve(run)
    ax = fig.axes[0]
    line = ax.lines[0]
    assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == [0.5, 0.5, 0.7]
    assert "accuracy" in ax.get_ylabel()
    assert not ax.texts  # no per-point labels to overlap: families are in the legend
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["best so far", "knn", "svc"]
    fig.canvas.draw()
    box, frame = legend.get_window_extent(), ax.get_window_extent()
    assert box.x0 >= frame.x1  # outside the data, right of the axes


def test_pca_projects_onto_the_directions_of_largest_variance() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 3)) * [10.0, 3.0, 0.1]
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    points = plots.pca_2d(base @ rotation.T + 5.0)
    assert points.shape == (200, 2)
    spread = points.std(axis=0)
    assert spread[0] == pytest.approx(10.0, rel=0.15) and spread[1] == pytest.approx(3.0, rel=0.15)
    assert plots.pca_2d(np.ones((1, 4))).shape == (1, 2)


def test_feature_map_circles_the_misclassified_points(trained: Trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = RunFiles(trained.runs["automl"], tmp_path).features()
    wrong = int((data["y"] != data["predicted"]).sum())
    fig = plots.feature_map(data["X"], data["y"].tolist(), data["predicted"].tolist())
    ax = fig.axes[0]
    *dots, circles = ax.collections
    classes = sorted(set(data["y"].tolist()))
    assert len(dots) == len(classes)
    assert sum(len(d.get_offsets()) for d in dots) == len(data["y"])
    assert len(circles.get_offsets()) == wrong
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [*classes, f"misclassified ({wrong})"]  # a class legend
    _png_size(plots.to_png(fig))


def test_misclassified_grid_titles_true_and_predicted(trained: Trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    items = RunFiles(trained.runs["automl"], tmp_path).misclassified()
    assert items, "the automl run should misclassify a few digits"
    fig = plots.misclassified_grid(items)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == [f"{i.label} → {i.predicted}" for i in items]
    mosaic = ax.images[0].get_array()
    assert mosaic.shape[1] == min(6, len(items)) * (96 + 8)
    assert mosaic.shape[0] == -(-len(items) // 6) * (96 + 26)
    empty = plots.misclassified_grid([])
    assert "no misclassified" in empty.axes[0].texts[0].get_text()
    one = Misclassified(items[0].image, "p", "1", "7")
    assert [t.get_text() for t in plots.misclassified_grid([one]).axes[0].texts] == ["1 → 7"]


def test_misclassified_grid_shows_the_photo_in_colour() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (230, 120, 10)).save(buffer, format="PNG")
    fig = plots.misclassified_grid([Misclassified(buffer.getvalue(), "cat/1.png", "cat", "dog")])
    mosaic = np.asarray(fig.axes[0].images[0].get_array())
    assert mosaic.ndim == 3
    orange = (mosaic == [230, 120, 10]).all(axis=2)
    assert orange.sum() == 96 * 48  # enlarged to the tile, aspect kept (2:1)


def test_charts_are_at_least_150_dpi() -> None:
    run = synthetic_run()
    assert run.metrics is not None
    data = plots.to_png(plots.per_class(run.metrics))
    assert Image.open(io.BytesIO(data)).info["dpi"][0] == pytest.approx(150, abs=1)


def test_drawing_never_loads_pyplot_or_a_gui_backend() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cloudml_edu.report import plots\n"
        "plots.to_png(plots.feature_map([[0, 1], [1, 0], [2, 2]], ['a', 'b', 'a'], ['a', 'a', 'a']))\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
