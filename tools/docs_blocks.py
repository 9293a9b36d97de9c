"""Generated blocks in the repository's Markdown, so the files read whole on GitHub too.

A block is ``<!-- generated: KEY -->`` ... ``<!-- end generated -->``; its body is
rendered from the code: ``profiles`` (the usability table of every backend, from
``cloudml_edu.report.profiles``), ``cli`` (the command-line reference, walked from the
Typer app by ``tools/cli_reference.py``) or ``file:PATH`` (that file, fenced).
``python tools/docs_blocks.py`` rewrites every block in place; a test fails while any
block is stale, and on raw ``--8<--`` snippets or broken relative links.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
BLOCK = re.compile(r"(<!-- generated: (\S+) -->\n)(.*?)(<!-- end generated -->)", re.S)
_FENCES = {".py": "python", ".json": "json", ".toml": "toml", ".md": "markdown"}


def pages() -> list[Path]:
    """Every Markdown file of the repository a reader opens: README, docs, examples."""
    found = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    found += sorted((ROOT / "docs").rglob("*.md")) + sorted((ROOT / "examples").rglob("*.md"))
    return [p for p in found if p.is_file()]


def render(key: str) -> str:
    """The body of the block ``key``."""
    if key == "profiles":
        from cloudml_edu.report.profiles import PROFILES

        rows = [
            "| backend | native service | style | set-up steps | lines of user code | "
            "deployment steps |",
            "|---|---|---|---|---|---|",
        ]
        rows += [
            f"| `{p.backend}` | {p.service} | {p.style} | {p.setup_steps}: "
            f"{'; '.join(p.setup)} | {p.user_code_lines} | "
            f"{p.deployment_steps}: {'; '.join(p.deployment)} |"
            for p in PROFILES.values()
        ]
        return "\n".join(rows) + "\n"
    if key == "cli":
        import cli_reference

        return cli_reference.render()
    if key.startswith("file:"):
        path = ROOT / key.removeprefix("file:")
        text = path.read_text(encoding="utf-8")
        return f"```{_FENCES.get(path.suffix, '')}\n{text.rstrip()}\n```\n"
    raise ValueError(f"unknown generated block {key!r}: use profiles or file:PATH")


def update(text: str) -> str:
    """``text`` with every generated block rendered again."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group(2)) + m.group(4), text)


def main() -> int:
    for page in pages():
        text = page.read_text(encoding="utf-8")
        new = update(text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            print(f"updated {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
