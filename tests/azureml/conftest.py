"""Shared fixtures of the Azure ML adapter tests: a small generated image folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """``images/<class>/<n>.png``: 3 classes of 8 tiny images each (enough to train and test)."""
    root = tmp_path / "images"
    for c, label in enumerate(("cat", "dog", "fox")):
        (root / label).mkdir(parents=True)
        for i in range(8):
            Image.new("L", (8, 8), color=c * 80 + i).save(root / label / f"{i}.png")
    return root


@pytest.fixture
def with_cluster(mock_azure_ml):
    """``serverless = false`` (jobs on the ``cpu-cluster`` cluster), signed in with a role
    that may create it (Contributor: an instructor's, not the student's default)."""
    mock_azure_ml.settings["serverless"] = False
    mock_azure_ml.roles.add("Contributor")
    return mock_azure_ml
