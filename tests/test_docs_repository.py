"""The repository's Markdown reads whole without the docs site: no raw snippet or placeholder,
generated blocks up to date, every relative link resolves, no stale promises."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import docs_blocks  # noqa: E402

PAGES = docs_blocks.pages()
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _ids(pages: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in pages]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_no_raw_snippet_or_placeholder(page: Path) -> None:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    raw = [
        line
        for line in text.splitlines()
        if line.lstrip().startswith("--8<--") or re.fullmatch(r"\s*<!-- [a-z_-]+ -->\s*", line)
    ]
    assert raw == [], f"unresolved placeholder(s) in {page.name}: {raw}"


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_generated_blocks_are_up_to_date(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert docs_blocks.update(text) == text, (
        f"{page.name} has a stale generated block: run `python tools/docs_blocks.py`"
    )


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_relative_links_resolve(page: Path) -> None:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in _LINK.findall(text):
        path = target.split("#", 1)[0]
        if not path or re.match(r"^[a-z][a-z0-9+.-]*:", path):
            continue  # an anchor on the page, or a URL
        if not (page.parent / path).exists():
            broken.append(target)
    assert broken == [], f"broken relative link(s) in {page.name}: {broken}"


def test_no_stale_promises_or_unpublished_installs() -> None:
    stale = (
        "come next",
        "adapters to come",
        "pip install cloudml-edu\n",
        "pip install cloudml-edu ",
    )
    found = [
        f"{page.relative_to(ROOT)}: {phrase.strip()}"
        for page in [*PAGES, ROOT / "examples" / "week3_lab.ipynb"]
        for phrase in stale
        if phrase in page.read_text(encoding="utf-8")
    ]
    assert found == []


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('see [x](missing.md)\n<!-- profiles -->\n--8<-- "a.py"\n', encoding="utf-8")
    with pytest.raises(AssertionError, match=r"missing\.md"):
        test_relative_links_resolve(page)
    with pytest.raises(AssertionError, match="placeholder"):
        test_no_raw_snippet_or_placeholder(page)
