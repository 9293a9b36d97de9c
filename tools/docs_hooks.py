"""MkDocs hooks: the pages generated when the site is built.

- ``reference/cli.md``: every command and option, walked from the Typer app
  (``tools/cli_reference.py``), so the reference cannot drift from the CLI.
- ``lab/week3_lab.ipynb``: ``examples/week3_lab.ipynb`` executed in a scratch folder
  (``tools/notebooks.py``), rendered with its outputs by mkdocs-jupyter.
- the backend table on ``backends.md``, from ``cloudml_edu.report.profiles``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cli_reference
import notebooks


@event_priority(100)  # before mkdocs-jupyter turns notebooks into pages
def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "reference/cli.md", content=cli_reference.render()))
    lab = notebooks.executed_lab()  # build/docs/lab/week3_lab.ipynb, a source folder of its own
    files.append(
        File(
            "lab/week3_lab.ipynb",
            src_dir=str(lab.parents[1]),
            dest_dir=config["site_dir"],
            use_directory_urls=config["use_directory_urls"],
        )
    )
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Fill ``<!-- profiles -->`` with the usability table of every backend."""
    if "<!-- profiles -->" not in markdown:
        return markdown
    from cloudml_edu.report.profiles import PROFILES

    rows = [
        "| backend | native service | style | lines of user code | deployment steps |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| `{p.backend}` | {p.service} | {p.style} | {p.user_code_lines} | "
        f"{p.deployment_steps}: {'; '.join(p.deployment)} |"
        for p in PROFILES.values()
    ]
    return markdown.replace("<!-- profiles -->", "\n".join(rows))
