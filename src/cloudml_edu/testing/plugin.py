"""The pytest plugin (entry point ``cloudml_edu``): fixtures for testing scripts offline.

``cloudml_workspace`` gives a fresh local workspace in a temporary folder, with
progress bars off, so a student's script runs end to end in a test without any
cloud account.  ``mock_azure_ml`` gives a fake Azure ML workspace (see
:mod:`cloudml_edu.testing.azure_ml`); ``mock_databricks`` runs the real databricks-sdk
client against a fake Databricks workspace (:mod:`cloudml_edu.testing.databricks`), with
its tables' storage on an Azurite started once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cloudml_edu.testing.azure_ml import FakeAzureML
    from cloudml_edu.testing.azurite import Azurite
    from cloudml_edu.testing.databricks import FakeDatabricks
    from cloudml_edu.workspace import Workspace


@pytest.fixture
def cloudml_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A local workspace under ``tmp_path``; progress output disabled."""
    from cloudml_edu.workspace import Workspace

    monkeypatch.setenv("CLOUDML_NO_PROGRESS", "1")
    yield Workspace.local(tmp_path / "cloudml-workspace", owner="tester")


@pytest.fixture(scope="session")
def cloudml_azurite() -> Iterator[Azurite]:
    """An Azurite blob emulator for the session (needs ``azurite-blob``, see testing.azurite)."""
    from cloudml_edu.testing.azurite import Azurite

    with Azurite() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def cloudml_tracking_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose MLflow store is created once per session (creating one takes seconds)."""
    from cloudml_edu.workspace import Workspace

    workspace = Workspace.local(tmp_path_factory.mktemp("tracking-template") / "workspace")
    workspace.ensure_tracking_store()
    return workspace.root


def _seed_tracking_store(root: Path, template: Path) -> None:
    """Give the workspace folder ``root`` a copy of the template's empty MLflow store."""
    import shutil

    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(template / "mlflow.db", root / "mlflow.db")
    shutil.copy(template / ".mlflow-ready", root / ".mlflow-ready")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "azurite: needs the Azurite blob emulator (azurite-blob, Node.js); mock_databricks "
        "then keeps the workspace's storage there (abfss://) instead of a local folder",
    )


@pytest.fixture
def mock_databricks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cloudml_tracking_template: Path,
    request: pytest.FixtureRequest,
) -> Iterator[FakeDatabricks]:
    """A fake Databricks workspace at the HTTP boundary; ``.workspace`` targets it.

    ``DATABRICKS_*`` variables are cleared and ``HOME`` points at an empty folder,
    so no real credential or ``~/.databrickscfg`` is read.  Storage is a local
    folder (no Node.js needed); a test marked ``azurite`` gets a fresh
    container on the session's Azurite instead (the lab's hive metastore tables
    read ``abfss://``).  Submitted AutoML tasks run in a twin of the runtime (built
    once per machine, see :mod:`cloudml_edu.testing.twins`).
    """
    import os

    from cloudml_edu.config import StorageConfig
    from cloudml_edu.testing.databricks import fake_databricks
    from cloudml_edu.testing.twins import cache_root

    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "CLOUDML_DATABRICKS__")):
            monkeypatch.delenv(name)
    # Twins, pyenv and pip's cache stay where they are while HOME moves.
    monkeypatch.setenv("CLOUDML_TWIN_CACHE", str(cache_root()))
    monkeypatch.setenv("PYENV_ROOT", os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv")))
    monkeypatch.setenv(
        "PIP_CACHE_DIR", os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    )
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLOUDML_NO_PROGRESS", "1")
    storage = None
    if request.node.get_closest_marker("azurite") is not None:
        azurite: Azurite = request.getfixturevalue("cloudml_azurite")
        container = f"dbx{abs(hash(request.node.nodeid)) % 10**10:010d}"
        storage = StorageConfig(
            kind="azure_blob", container=container, connection_string=azurite.connection_string
        )
    root = tmp_path / "cloudml-workspace"
    _seed_tracking_store(root, cloudml_tracking_template)
    with fake_databricks(root, storage=storage) as fake:
        yield fake


@pytest.fixture
def mock_azure_ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzureML]:
    """A fake Azure ML workspace at the HTTP boundary (the real azure-ai-ml client runs).

    ``mock_azure_ml.workspace`` is a workspace whose ``[azure_ml]`` points at the
    fake; ``.requests`` lists what was sent, ``.jobs`` the job bodies by name, and
    ``.script_job(statuses=..., metrics=..., error=...)`` decides how the next job goes.
    """
    from cloudml_edu.backends.azureml.backend import AzureMLBackend
    from cloudml_edu.backends.azureml.endpoints import AzureMLEndpointProvider
    from cloudml_edu.testing.azure_ml import FakeAzureML

    monkeypatch.setenv("CLOUDML_NO_PROGRESS", "1")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setattr(AzureMLBackend, "poll_interval", 0.01)  # scripted jobs end at once
    monkeypatch.setattr(AzureMLEndpointProvider, "poll_interval", 0.01)
    monkeypatch.setattr(AzureMLEndpointProvider, "poll_max_interval", 0.05)
    for name in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "MLFLOW_TRACKING_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    with FakeAzureML(root=tmp_path / "cloudml-azureml") as fake:
        yield fake
