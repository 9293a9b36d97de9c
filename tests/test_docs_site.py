"""The documentation site: generated pages, the Week 3 lab notebook, and the built site in Chromium.

One worker runs these in file order (xdist group): the notebook test leaves its executed copy
where the docs build picks it up, so the site test does not run the lab a second time.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import nbformat
import pytest
import typer

from cloudml_edu import errors
from cloudml_edu.cli import app

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import cli_reference  # noqa: E402
import notebooks  # noqa: E402

pytestmark = pytest.mark.xdist_group("docs")


# ---- generated and hand-written reference pages ---------------------------------------------


def _command_paths(group: typer.Typer, prefix: str) -> Iterator[str]:
    """Every command path, read from the Typer app's registrations (not from click)."""
    for command in group.registered_commands:
        assert command.callback is not None
        yield f"{prefix} {command.name or command.callback.__name__.replace('_', '-')}"
    for sub in group.registered_groups:
        assert sub.typer_instance is not None and sub.name
        yield f"{prefix} {sub.name}"
        yield from _command_paths(sub.typer_instance, f"{prefix} {sub.name}")


def test_cli_reference_has_every_command_and_option() -> None:
    page = cli_reference.render()
    sections = dict(
        re.findall(r"^#{2,5} `(cloudml-edu[^`]*)`\n(.*?)(?=^#{2,5} `|\Z)", page, re.M | re.S)
    )
    expected = set(_command_paths(app, "cloudml-edu"))
    assert expected <= set(sections), expected - set(sections)
    assert {
        "cloudml-edu dataset upload",
        "cloudml-edu powerbi push",
        "cloudml-edu demo",
    } <= expected
    for ctx in cli_reference.commands(cli_reference.root_command()):
        section = sections[ctx.command_path]
        for param in ctx.command.get_params(ctx):
            for name in [*param.opts, *param.secondary_opts]:
                if param.param_type_name == "option":
                    assert re.search(rf"`[^`]*{re.escape(name)}\b", section), (
                        ctx.command_path,
                        name,
                    )
        assert f"Usage: {ctx.command_path}" in section
    assert "[default: designer]" in sections["cloudml-edu train"]


def test_troubleshooting_explains_every_error_class() -> None:
    page = (ROOT / "docs" / "troubleshooting.md").read_text()
    sections = dict(re.findall(r"^## `(\w+)`\n(.*?)(?=^## |\Z)", page, re.M | re.S))
    classes = {
        name
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.CloudMLError) and cls.__module__ == errors.__name__
    }
    assert "QuotaError" in classes
    assert classes <= set(sections), (
        f"add a section to docs/troubleshooting.md for {classes - set(sections)}"
    )
    for name in classes:
        assert "**When**" in sections[name] and "**Fix**" in sections[name], name


# ---- the Week 3 lab notebook ------------------------------------------------------------------


def test_lab_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(notebooks.LAB, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code), (
        "clear the outputs: the docs build shows a fresh run"
    )


@pytest.mark.slow
def test_week3_lab_runs_top_to_bottom_within_two_minutes(tmp_path: Path) -> None:
    notebook, seconds = notebooks.run_lab(tmp_path)  # raises at the first failing cell
    assert seconds < notebooks.BUDGET_SECONDS, f"the lab took {seconds:.0f} s"
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    html = "\n".join(out.get("data", {}).get("text/html", "") for out in outputs)
    for title in (
        "Dataset digits: 1797 images, 10 classes",
        "Plan: designer on local",
        "TrainingRun: designer on local",
        "TrainingRun: sdk on local",
        "TrainingRun: automl on local",
        "confusion matrix",
        "3 runs compared",
        "Endpoint week3-digits",
    ):
        assert title in html, title
    assert html.count('<img class="thumb"') == 20  # the sample, then the uploaded copy
    assert "checking images" in html  # the progress bar, rendered as HTML
    assert "\x1b[" not in json.dumps([dict(out) for out in outputs])  # no terminal escape codes
    text = "\n".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "Warning" not in text, text
    assert (tmp_path / "report" / "report.html").is_file()
    assert list((tmp_path / "powerbi").glob("*.parquet"))
    assert (tmp_path / "cloudml.example.toml").is_file()
    assert not list((tmp_path / ".cloudml" / "endpoints").glob("*.json")), "endpoint left running"


# ---- the built site in a browser --------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("needs Debian's chromium: run `bash .ci/install-services`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The site over HTTP on 127.0.0.1, as a course server would serve it (search needs HTTP)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join(timeout=10)


def _target(site: Path, base: str, href: str) -> tuple[Path, str]:
    """The file a link on the served site opens (``index.html`` of a folder) and its fragment."""
    url = urlparse(href)
    path = site / unquote(url.path).lstrip("/")
    if href.startswith(base) and (path.is_dir() or url.path.endswith("/")):
        path = path / "index.html"
    return path, url.fragment


@pytest.mark.slow
@pytest.mark.parametrize("page", ["", "lab/week3_lab/"])
def test_page_has_no_broken_image_or_link(
    site: Path, served: str, browser: Any, page: str, tmp_path: Path
) -> None:
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    errors_seen: list[str] = []
    failed: list[str] = []
    outside: list[str] = []
    tab.on("pageerror", lambda e: errors_seen.append(str(e)))
    tab.on("requestfailed", lambda r: failed.append(r.url))
    tab.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith((served, "data:")) else None,
    )
    tab.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    tab.goto(served + page)
    tab.wait_for_load_state("networkidle")
    tab.screenshot(path=str(tmp_path / "page.png"))
    images = tab.evaluate(
        "Array.from(document.images).map(i => [i.currentSrc, i.complete, i.naturalWidth])"
    )
    broken = [src for src, done, width in images if not (done and width > 0)]
    assert not broken, broken
    assert len(images) >= (20 if page else 0)  # the lab shows every thumbnail
    links = tab.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    internal = [href for href in links if href.startswith(served)]
    assert len(internal) > 20  # the navigation alone links every page
    for href in internal:
        path, fragment = _target(site, served, href)
        assert path.is_file(), f"{page or 'home'} links to missing {href}"
        if fragment and path.suffix == ".html":
            assert f'id="{fragment}"' in path.read_text(encoding="utf-8"), (
                f"{page or 'home'}: no #{fragment} in {path}"
            )
    # the site loads nothing from elsewhere (no font or script CDN): it works offline
    assert errors_seen == [] and failed == [] and outside == []
    tab.close()


@pytest.mark.slow
def test_lab_page_shows_the_notebook_with_its_outputs(site: Path) -> None:
    page = (site / "lab" / "week3_lab" / "index.html").read_text(encoding="utf-8")
    assert "Week 3 lab: one classifier, three ways" in page
    assert page.count('class="thumb"') == 20 and "3 runs compared" in page
    assert (site / "lab" / "week3_lab" / "week3_lab.ipynb").is_file()  # the download link
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "cloudml-edu dataset upload" in cli
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "Upload (if needed) and record this dataset" in api  # Dataset.register's docstring
