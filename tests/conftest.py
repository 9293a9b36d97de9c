"""Fixtures shared by the whole suite: sample images and fresh local workspaces."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shape_images import write_shapes

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
    """Three classes of eight small, distinct PNGs each (circle, square, cross)."""
    return write_shapes(tmp_path / "tiny")
