"""Release hygiene: one version, the changelog in step with it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import cloudml_edu
from cloudml_edu._version import __version__

ROOT = Path(__file__).parents[1]


def test_version_lives_in_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/cloudml_edu/_version.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?", __version__)
    assert cloudml_edu.__version__ == __version__
    cli = subprocess.run(
        [str(Path(sys.executable).with_name("cloudml-edu")), "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert cli.stdout.strip() == f"cloudml-edu {__version__}", cli.stderr


def test_changelog_has_the_version_or_an_unreleased_section() -> None:
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings, "CHANGELOG.md has no '## [version]' headings"
    assert __version__ in headings or headings[0] == "Unreleased", (
        f"add '## [{__version__}] - date' to CHANGELOG.md, or keep '## [Unreleased]' on top"
    )
