"""Fixtures shared by the whole suite: sample images and fresh local workspaces."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("CLOUDML_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-learn's digits as PNG class folders, written once per test session."""
    from cloudml_edu.samples import write_digits

    return write_digits(tmp_path_factory.mktemp("digits") / "digits")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[object]:
    """A fresh local workspace in a temporary folder."""
    from cloudml_edu import Workspace

    yield Workspace.local(tmp_path / "ws")


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    """Three classes of eight small, distinct PNGs each."""
    from PIL import Image, ImageDraw

    root = tmp_path / "tiny"
    for c, label in enumerate(("circle", "square", "cross")):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(8):
            image = Image.new("L", (24, 24), 0)
            draw = ImageDraw.Draw(image)
            o = i % 4
            if c == 0:
                draw.ellipse((4 + o, 4, 18 + o, 18), outline=255, width=2)
            elif c == 1:
                draw.rectangle((4 + o, 4, 18 + o, 18), outline=255, width=2)
            else:
                draw.line((4 + o, 4, 18 + o, 18), fill=255, width=2)
                draw.line((18 + o, 4, 4 + o, 18), fill=255, width=2)
            image.save(folder / f"{i}.png")
    return root
