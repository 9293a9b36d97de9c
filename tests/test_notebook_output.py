"""Rich notebook output: ``_repr_html_`` and plain reprs of what a student displays in a cell."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from cloudml_edu import Dataset, Metrics, Plan, TrainingRun
from cloudml_edu.metrics import Compute
from cloudml_edu.report import compare
from cloudml_edu.run import JobRecord, PlanStep, StepRecord, TrialRecord

EVIL = '<script>alert("x")</script>'


def _images(html: str) -> list[Image.Image]:
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [Image.open(io.BytesIO(base64.b64decode(uri))) for uri in uris]


def _run(**changes: object) -> TrainingRun:
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    fields: dict[str, object] = {
        "id": "a" * 32,
        "backend": "designer",
        "dataset": "digits",
        "status": "Completed",
        "started": start,
        "ended": start + timedelta(seconds=42),
        "metrics": Metrics(
            accuracy=0.9,
            f1_macro=0.875,
            labels=["cat", EVIL],
            confusion_matrix=[[9, 1], [2, 8]],
            n_train=80,
            n_test=20,
            compute=Compute(sku="Standard_DS3_v2", nodes=2, node_hours=0.1),
            cost_usd=0.05,
        ),
        "model": "runs:/" + "a" * 32 + "/model",
    }
    return TrainingRun.model_validate({**fields, **changes})


def test_dataset_shows_counts_and_one_thumbnail_per_class(tiny_dir: Path) -> None:
    dataset = Dataset.from_folder(tiny_dir, progress=False)
    html = dataset._repr_html_()
    assert "24 images, 3 classes" in html
    for label in ("circle", "square", "cross"):
        assert f'<td>{label}</td><td class="n">8</td>' in html
    thumbnails = _images(html)
    assert len(thumbnails) == 3
    assert all(image.size == (24, 24) for image in thumbnails)  # never larger than the source
    assert repr(dataset).startswith("Dataset(name='tiny', images=24, classes=3")


def test_dataset_escapes_class_names_and_survives_an_unreadable_source(tiny_dir: Path) -> None:
    (tiny_dir / "square").rename(tiny_dir / EVIL.replace("/", "_"))
    dataset = Dataset.from_folder(tiny_dir, progress=False)
    for record in dataset.records[:8]:  # the images vanish after the scan
        (tiny_dir / record.path).unlink()
    html = dataset._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "24 images" in html and _images(html) == []


def test_plan_lists_steps_compute_cost_and_folds_requests() -> None:
    plan = Plan(
        backend="sdk",
        target="azureml",
        dataset=EVIL,
        steps=[
            PlanStep(name="compute", action="create cpu-cluster", detail={"size": "DS3 <v2>"}),
            PlanStep(name="job", action="submit a command job"),
        ],
        compute_sku="Standard_DS3_v2",
        nodes=2,
        estimated_minutes=12.5,
        estimated_cost_usd=0.21,
        price_source="retail prices 2026-11",
    )
    html = plan._repr_html_()
    assert "2 × Standard_DS3_v2" in html and "12.5 min" in html and "$0.21" in html
    assert "<td>create cpu-cluster<details><summary>request</summary>" in html
    assert "DS3 &lt;v2&gt;" in html and "<script>" not in html
    assert html.count("<details>") == 1  # a step without a request has no fold
    assert repr(plan) == (
        "Plan(backend='sdk', target='azureml', dataset='<script>alert(\"x\")</script>', steps=2, "
        "compute='2 x Standard_DS3_v2', minutes=12.5, cost_usd=0.21)"
    )


def test_metrics_table_and_shaded_confusion_matrix() -> None:
    metrics = _run().metrics
    assert metrics is not None
    html = metrics._repr_html_()
    assert "<th>accuracy</th><td>0.9000</td>" in html and "<th>log loss</th><td>—</td>" in html
    assert "80 / 20" in html and "$0.05" in html and "2 × Standard_DS3_v2" in html
    cells = re.findall(
        r'<td class="n" style="background:rgba\(([\d,]+),([\d.]+)\)">(\d+)</td>', html
    )
    assert [int(n) for _, _, n in cells] == [9, 1, 2, 8]
    # the diagonal is green, mistakes red, darker the larger their share of the true class
    assert [colour for colour, _, _ in cells] == [
        "46,125,50",
        "198,40,40",
        "198,40,40",
        "46,125,50",
    ]
    assert float(cells[0][1]) > float(cells[3][1]) > float(cells[2][1]) > float(cells[1][1])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert repr(metrics) == ("Metrics(accuracy=0.9000, f1_macro=0.8750, n_test=20, classes=2)")


def test_designer_run_shows_status_steps_and_links() -> None:
    run = _run(
        steps=[
            StepRecord(name="split", component="split_images", seconds=0.25, params={"seed": 0}),
            StepRecord(
                name="train",
                component="train",
                status="Failed",
                url="https://ml.azure.com/runs/train?x=1&y=2",
            )
            if "url" in StepRecord.model_fields
            else StepRecord(name="train", component="train", status="Failed"),
        ],
        status="Failed",
        error=f"step train failed: {EVIL}",
        owner="group-7",
    )
    html = run._repr_html_()
    assert "TrainingRun: designer on local (group-7)" in html
    assert '<span class="tag Failed">Failed</span>' in html
    assert "<td>split_images</td>" in html and "seed=0" in html
    assert "<code>runs:/" + "a" * 32 + "/model</code>" in html  # not an http link
    assert "0.9000" in html and "42.0 s" in html
    assert "<script>" not in html and "step train failed: &lt;script&gt;" in html
    if "url" in StepRecord.model_fields:
        assert 'href="https://ml.azure.com/runs/train?x=1&amp;y=2"' in html
    assert repr(run) == (
        f"TrainingRun(id='{'a' * 32}', backend='designer', target='local', status='Failed', "
        "accuracy=0.9000)"
    )


def test_sdk_job_and_automl_trials_best_first() -> None:
    job = _run(
        backend="sdk",
        job=JobRecord(
            command=["python", "-m", "train", "--tag", EVIL], exit_code=0, log_path="j.log"
        ),
    )._repr_html_()
    assert "<code>python -m train --tag &lt;script&gt;" in job and "<code>j.log</code>" in job
    trials = [
        TrialRecord(number=i, family=f"f{i}", params={"c": i}, score=s, seconds=1.0, run_id=str(i))
        for i, s in enumerate([0.5, None, 0.9, *[0.1] * 8])
    ]
    html = _run(backend="automl", trials=trials)._repr_html_()
    families = re.findall(r"<td>(f\d+)</td>", html)
    assert families[:2] == ["f2", "f0"] and "f1" not in families  # unscored last, cut at 8
    assert "11 trials, best first" in html and "… and 3 more trials" in html


def test_comparison_renders_its_table_with_the_legend() -> None:
    better = Metrics(accuracy=0.95, labels=["cat", "dog"], confusion_matrix=[[1, 0], [0, 1]])
    runs = [_run(), _run(id="b" * 32, backend="sdk", owner=EVIL, metrics=better)]
    html = compare(runs, artifacts=False)._repr_html_()
    assert "2 runs compared" in html and "acc: accuracy" in html
    found = re.findall(r"<tr[^>]*>.*?</tr>", html)
    rows = [row for row in found if "color:#666" not in row]  # under each: its estimate row
    assert len(found) - len(rows) == 2 and "≈ Azure ML" in found[2]
    assert len(rows) == 3 and "font-weight:bold" in rows[2] and "font-weight" not in rows[1]
    assert ">sdk<" in rows[2] and "0.950" in rows[2]
    assert "<script>" not in html and "&lt;script&gt;" in html  # two owners: owner column


@pytest.mark.slow
def test_endpoint_shows_target_state_url_and_cost(workspace: object, tiny_dir: Path) -> None:
    from cloudml_edu import Endpoint, Trainer, Workspace

    assert isinstance(workspace, Workspace)
    dataset = Dataset.from_folder(tiny_dir, progress=False)
    run = Trainer("designer", workspace=workspace, model="knn", progress=False).fit(dataset)
    with Endpoint.deploy(run, workspace=workspace, name="repr-test", progress=False) as endpoint:
        html = endpoint._repr_html_()
        assert "Endpoint repr-test" in html and "<th>target</th><td>local</td>" in html
        assert '<span class="tag live">live</span>' in html
        assert f'href="{endpoint.url}"' in html and "free (this machine)" in html
    assert '<span class="tag dead">dead</span>' in endpoint._repr_html_()


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pretend to run in a Jupyter kernel without ipywidgets; collect the HTML rich displays."""
    import importlib.util

    import rich.console
    import rich.jupyter

    shown: list[str] = []
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    monkeypatch.setattr(
        rich.jupyter,
        "display",
        lambda segments, text: shown.append(rich.jupyter._render_segments(segments)),
    )
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ipywidgets" else real_find_spec(name, *a),
    )
    return shown


def test_progress_bar_in_a_notebook_prints_its_final_state_as_html(notebook: list[str]) -> None:
    from cloudml_edu._progress import track

    with track("checking images", total=3, progress=True) as bar:
        for _ in range(3):
            bar.advance()
    assert len(notebook) == 1  # no redraws without ipywidgets: the final bar, once
    assert "checking images" in notebook[0] and "3/3" in notebook[0]
    assert "<pre" in notebook[0] and "\x1b[" not in notebook[0]


def test_status_line_in_a_notebook_is_one_static_line(notebook: list[str]) -> None:
    from cloudml_edu._polling import wait_until

    checks = iter([False, False, True])
    wait_until(
        lambda elapsed: next(checks),
        timeout=10,
        describe=lambda elapsed: f"training <designer> [b]{elapsed:.0f} s",
        progress=True,
        sleep=lambda seconds: None,
    )
    text = re.sub(r"<[^>]+>", "", notebook[0])
    assert len(notebook) == 1 and "training &lt;designer&gt; [b]0 s" in text, text
    assert "\x1b[" not in notebook[0]


def test_progress_off_shows_nothing_in_a_notebook(notebook: list[str]) -> None:
    from cloudml_edu._progress import track

    with track("checking images", total=1, progress=False) as bar:
        bar.advance()
    assert notebook == []
