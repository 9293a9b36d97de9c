"""The pytest plugin (entry point ``cloudml_edu``): fixtures for testing scripts offline.

``cloudml_workspace`` gives a fresh local workspace in a temporary folder, with
progress bars off, so a student's script runs end to end in a test without any
cloud account.  ``mock_azure_ml`` gives a fake Azure ML workspace (see
:mod:`cloudml_edu.testing.azure_ml`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cloudml_edu.testing.azure_ml import FakeAzureML
    from cloudml_edu.workspace import Workspace


@pytest.fixture
def cloudml_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A local workspace under ``tmp_path``; progress output disabled."""
    from cloudml_edu.workspace import Workspace

    monkeypatch.setenv("CLOUDML_NO_PROGRESS", "1")
    yield Workspace.local(tmp_path / "cloudml-workspace", owner="tester")


@pytest.fixture
def mock_azure_ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzureML]:
    """A fake Azure ML workspace at the HTTP boundary (the real azure-ai-ml client runs).

    ``mock_azure_ml.workspace`` is a workspace whose ``[azure_ml]`` points at the
    fake; ``.requests`` lists what was sent, ``.jobs`` the job bodies by name, and
    ``.script_job(statuses=..., metrics=..., error=...)`` decides how the next job goes.
    """
    import cloudml_edu.backends.azureml.backend as azureml_backend
    import cloudml_edu.backends.azureml.endpoints as azureml_endpoints
    from cloudml_edu.testing.azure_ml import FakeAzureML

    monkeypatch.setenv("CLOUDML_NO_PROGRESS", "1")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setattr(azureml_backend, "POLL_INTERVAL", 0.01)  # scripted jobs end at once
    monkeypatch.setattr(azureml_endpoints, "POLL_INTERVAL", 0.01)
    monkeypatch.setattr(azureml_endpoints, "POLL_MAX_INTERVAL", 0.05)
    for name in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "MLFLOW_TRACKING_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    with FakeAzureML(root=tmp_path / "cloudml-azureml") as fake:
        yield fake
