"""The HTML report: self-contained, and it renders in a real browser (headless Chromium)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_fakes import Trained, synthetic_run

from cloudml_edu.report import write_report

# One worker trains the session's runs once for every report test (pytest -n with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("report")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


NEW_IMAGE = "3/0003.png"


@pytest.fixture(scope="module")
def report(trained: Trained, tmp_path_factory: pytest.TempPathFactory, digits_dir: Path) -> Any:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.report.new_images import NewImage

    runs = [*trained.student, trained.runs["alice"]]
    new = NewImage(str(digits_dir / NEW_IMAGE), "3", 0.91, {"3": 0.91, "8": 0.06, "5": 0.03})
    return write_report(
        runs,
        tmp_path_factory.mktemp("report"),
        title="lab 3 report",
        datasets=[Dataset.from_folder(digits_dir, progress=False)],
        new_images=[new],
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(
            "needs Debian's chromium: run `bash .ci/install-services` (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_writes_one_page_and_every_chart_as_png(report: Any, trained: Trained) -> None:
    html = report.html.read_text(encoding="utf-8")
    assert report.html.name == "report.html" and not report.notes
    names = {p.name for p in report.images}
    assert "comparison.png" in names
    for run in trained.student:
        assert {f"{run.id[:8]}-confusion.png", f"{run.id[:8]}-features.png"} <= names
    assert f"{trained.runs['automl'].id[:8]}-trials.png" in names
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in report.images)
    thumbnails = 10 * 4 + 1  # four samples of each digit, one new image
    assert html.count("data:image/png;base64,") == len(report.images) + thumbnails


def test_page_has_contents_dataset_settings_and_new_images(report: Any, trained: Trained) -> None:
    html = report.html.read_text(encoding="utf-8")
    for anchor in ("comparison", "dataset-digits", "backends", "new-images"):
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html
    for run in [*trained.student, trained.runs["alice"]]:
        assert f'href="#run-{run.id}"' in html and f'id="run-{run.id}"' in html
    assert "1797 images · 10 classes" in html
    assert "model.family" not in html and "family=knn" in html  # alice's settings, grouped
    assert NEW_IMAGE in html and "3 0.91, 8 0.06, 5 0.03" in html


def test_page_needs_nothing_from_the_network(report: Any) -> None:
    html = report.html.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html)
    assert "@import" not in html and "url(" not in html


def test_chromium_renders_charts_and_tables(report: Any, browser: Any, trained: Trained) -> None:
    page = browser.new_page()
    errors: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.goto(report.html.as_uri())
    page.wait_for_load_state("load")
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
    )
    assert len(images) == len(report.images) + 41
    assert all(done and width > 0 for done, width, _ in images), images
    assert page.title() == "lab 3 report"
    assert page.locator("table.comparison tbody tr:not(.estimate)").count() == 4
    assert page.locator("table.comparison tbody tr.estimate").count() == 4  # one cloud each
    assert page.locator("section h2").count() == 4 + 2  # runs, dataset, new images
    assert page.locator("text=pipeline steps").count() == 2  # two designer runs
    assert page.locator("text=trials").first.is_visible()
    body = page.inner_text("body")
    assert "alice" in body and trained.runs["sdk"].id in body
    assert errors == [] and external == []
    page.close()


def test_runs_without_artifacts_get_a_note_instead_of_charts(tmp_path: Path) -> None:
    run = synthetic_run()  # no tracking URI: no features or misclassified images to read
    report = write_report([run], tmp_path)
    names = {p.name for p in report.images}
    assert names == {"comparison.png", f"{run.id[:8]}-confusion.png", f"{run.id[:8]}-per-class.png"}
    assert len(report.notes) == 2 and "tracking URI" in report.notes[0]
    assert "tracking URI" in report.html.read_text()


@pytest.mark.parametrize("width", [1280, 420])
def test_screenshots_at_two_widths_show_every_image_inside_the_page(
    report: Any, browser: Any, width: int, tmp_path: Path
) -> None:
    """A laptop and a phone: no broken image, no chart wider than the screen, no page-wide scroll."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(report.html.as_uri())
    page.wait_for_load_state("load")
    shot = tmp_path / f"report-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    broken = page.evaluate(
        "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
    )
    too_wide = page.evaluate(
        "Array.from(document.querySelectorAll('figure img'))"
        ".filter(i => i.getBoundingClientRect().right > window.innerWidth + 1).length"
    )
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    assert broken == 0 and too_wide == 0
    assert scroll_width <= width  # wide tables scroll inside their box, not the page
    from PIL import Image

    with Image.open(shot) as image:
        assert image.width == width and image.height > 3000
