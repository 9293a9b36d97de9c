"""MkDocs hooks: the pages generated when the site is built.

- ``lab/week3_lab.ipynb``: ``examples/week3_lab.ipynb`` executed in a scratch folder
  (``tools/notebooks.py``), rendered with its outputs by mkdocs-jupyter; links to
  ``../examples/week3_lab.ipynb`` (right in the repository) point at it on the site.
- ``changelog.md``: ``CHANGELOG.md`` as it is.

The command-line reference and the backend table are generated blocks of the
repository's pages (``tools/docs_blocks.py``), checked by a test, so the Markdown
reads whole on GitHub too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))

import notebooks


@event_priority(100)  # before mkdocs-jupyter turns notebooks into pages
def on_files(files: Files, config: Any) -> Files:
    changelog = (Path(config["docs_dir"]).parent / "CHANGELOG.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "changelog.md", content=changelog))
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
    """Links to the lab notebook in the repository point at its executed page on the site."""
    return markdown.replace("](../examples/week3_lab.ipynb)", "](lab/week3_lab.ipynb)")
