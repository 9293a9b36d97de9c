"""How a student (or course tooling) tests a training script offline.

The `cloudml_workspace` fixture comes with cloudml-edu's pytest plugin: a fresh
local workspace in a temporary folder.  Run: pytest examples/test_my_script.py
"""

from __future__ import annotations

from pathlib import Path

from cloudml_edu import Dataset, Trainer, Workspace


def train(workspace: Workspace, images: Path, backend: str) -> float:
    """The student's own code under test."""
    dataset = Dataset.sample("digits", images).upload(workspace)
    run = Trainer(backend, workspace=workspace, max_trials=2, families=["knn"]).fit(dataset)
    assert run.metrics is not None
    return run.metrics.accuracy


def test_my_training_script_reaches_90_percent(
    cloudml_workspace: Workspace, tmp_path: Path
) -> None:
    assert train(cloudml_workspace, tmp_path / "digits", "automl") > 0.9
