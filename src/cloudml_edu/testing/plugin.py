"""The pytest plugin (entry point ``cloudml_edu``): fixtures for testing scripts offline.

``cloudml_workspace`` gives a fresh local workspace in a temporary folder, with
progress bars off, so a student's script runs end to end in a test without any
cloud account.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace


@pytest.fixture
def cloudml_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A local workspace under ``tmp_path``; progress output disabled."""
    from cloudml_edu.workspace import Workspace

    monkeypatch.setenv("CLOUDML_NO_PROGRESS", "1")
    yield Workspace.local(tmp_path / "cloudml-workspace", owner="tester")
