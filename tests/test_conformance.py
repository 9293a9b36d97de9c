"""The conformance suite (cloudml_edu.testing.conformance) over the three targets.

Local: a workspace in a folder, no fake (``plan`` is checked with sockets refused).
Azure ML through ``mock_azure_ml``; Databricks through ``mock_databricks``.  Cases the
fakes run every case: jobs run in twins, and their outputs are read back as Azure keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cloudml_edu import Dataset, Endpoint, Workspace
from cloudml_edu.testing.azure_ml import FakeAzureML
from cloudml_edu.testing.conformance import TargetConformance, TargetHarness
from cloudml_edu.testing.databricks import FakeDatabricks
from cloudml_edu.testing.plugin import _seed_tracking_store

# A shell loop in front of the local sdk job's command: the job waits until the gate file exists.
WAIT_FOR_GATE = 'while [ ! -e "$0" ]; do sleep 0.05; done; exec "$@"'
#: What a scripted cloud failure says; the error and the record must carry it.
SCRIPTED = "ValueError: scripted by the conformance suite"


class LocalHarness(TargetHarness):
    """This machine: jobs are processes any other process can wait on."""

    target = "local"
    billed = False
    reachable_from_subprocess = True

    def __init__(self, workspace: Workspace, monkeypatch: pytest.MonkeyPatch, gate: Path) -> None:
        super().__init__(workspace)
        self._monkeypatch = monkeypatch
        self._gate = gate

    def hold_next_run(self, backend: str) -> Callable[[], None]:
        """The sdk job waits on a gate file before it trains (no timing, no sleep in the test)."""
        from cloudml_edu.backends.local.sdk import SdkBackend

        assert backend == "sdk", "only the local sdk backend runs its job in the background"
        command = SdkBackend.command
        gate = str(self._gate)

        def gated(self: SdkBackend, data: Path | str, manifest: Path | str | None) -> list[str]:
            return ["sh", "-c", WAIT_FOR_GATE, gate, *command(self, data, manifest)]

        self._monkeypatch.setattr(SdkBackend, "command", gated)
        return self._gate.touch

    def script_failure(self, backend: str, dataset: Dataset) -> str:
        """An image of the (already scanned) dataset is overwritten: reading it fails the
        check against its manifest MD5, before anything trains on it."""
        folder = dataset.source.local_folder()
        assert folder is not None
        (folder / dataset.records[0].path).write_bytes(b"this is not an image")
        return "does not match its manifest"

    def served_model(self, endpoint: Endpoint, dest: Path) -> Path:
        """The local server serves the run's model from the workspace's MLflow store."""
        import mlflow

        dest.mkdir(parents=True)
        # a runs:/ URI's model is looked up in the global tracking store, as the server does
        # (MLFLOW_TRACKING_URI there); an earlier test may have pointed it elsewhere
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(self.workspace.tracking_uri)
        try:
            return Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=endpoint.model_uri, dst_path=str(dest)
                )
            )
        finally:
            mlflow.set_tracking_uri(previous)

    def close(self) -> None:
        self._gate.touch()  # a job a failing test left held goes on and ends


class AzureMLHarness(TargetHarness):
    """``mock_azure_ml``: an in-memory fake, so another process reads the stored record."""

    target = "azureml"

    def __init__(self, fake: FakeAzureML) -> None:
        super().__init__(fake.workspace, fake)
        self._azure = fake

    def reopen(self) -> Workspace:
        from cloudml_edu.backends.azureml.connection import use_credential

        ws = super().reopen()
        use_credential(ws, self._azure.credential)
        return ws

    def config_text(self) -> str:
        fake = self._azure
        return super().config_text() + (
            f'[azure_ml]\nsubscription_id = "{fake.subscription_id}"\n'
            f'resource_group = "{fake.resource_group}"\nworkspace_name = "{fake.workspace_name}"\n'
        )

    def options(self, backend: str) -> dict[str, object]:
        return {**super().options(backend), "image_size": 8}

    def hold_next_run(self, backend: str) -> Callable[[], None]:
        self._azure.script_job(statuses=["Queued", "Running"])  # Running until canceled
        return lambda: None

    def script_failure(self, backend: str, dataset: Dataset) -> str:
        self._azure.script_job(error=SCRIPTED)
        return SCRIPTED

    def served_model(self, endpoint: Endpoint, dest: Path) -> Path:
        """The job's ``mlflow_model`` output behind the endpoint's deployment, copied."""
        import shutil

        folder = self._azure.deployed_model(str(endpoint.record.details["endpoint"]))
        assert folder is not None, "the endpoint serves no registered model"
        return Path(shutil.copytree(folder, dest / "model"))


class DatabricksHarness(TargetHarness):
    """``mock_databricks``: an in-memory fake, so another process reads the stored record."""

    target = "databricks"

    def __init__(self, fake: FakeDatabricks) -> None:
        super().__init__(fake.workspace, fake)
        self._databricks = fake

    def config_text(self) -> str:
        fake = self._databricks
        storage = fake.workspace.config.storage
        text = super().config_text()
        if storage.connection_string is not None:  # tables on Azurite, not the local folder
            text += (
                f'[storage]\nkind = "{storage.kind}"\ncontainer = "{storage.container}"\n'
                f'connection_string = "{storage.connection_string.get_secret_value()}"\n'
            )
        return text + (
            f'[databricks]\nhost = "{fake.host}"\ntoken = "{fake.token}"\n'
            f'warehouse_id = "{fake.warehouse_id}"\n'
        )

    def hold_next_run(self, backend: str) -> Callable[[], None]:
        self._databricks.script_run(states=("PENDING", "RUNNING"))  # RUNNING until canceled
        return lambda: None

    def script_failure(self, backend: str, dataset: Dataset) -> str:
        self._databricks.script_run(result="FAILED", error=SCRIPTED)
        return SCRIPTED

    def served_model(self, endpoint: Endpoint, dest: Path) -> Path:
        import shutil
        from urllib.parse import unquote, urlsplit

        from cloudml_edu.testing.databricks._mlflow import model_version

        name, version = endpoint.model_uri.removeprefix("models:/").rsplit("/", 1)
        found = model_version(self._databricks, name, version)
        assert found is not None, f"{endpoint.model_uri} is not registered in the fake"
        source = Path(unquote(urlsplit(str(found["source"])).path))
        return Path(shutil.copytree(source, dest / "model"))


class TestLocal(TargetConformance):
    backends = ("designer", "sdk", "automl")
    cancel_backends = ("sdk",)  # designer and automl train inside begin_fit: nothing to catch
    serving_backends = ("designer",)  # trains in-process: the quickest model to serve

    @pytest.fixture
    def harness(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cloudml_tracking_template: Path
    ) -> TargetHarness:
        monkeypatch.setenv("CLOUDML_NO_PROGRESS", "1")
        root = tmp_path / "workspace"
        _seed_tracking_store(root, cloudml_tracking_template)  # an empty store, made once
        workspace = Workspace.local(root, owner="tester")
        return LocalHarness(workspace, monkeypatch, tmp_path / "gate")


class TestAzureML(TargetConformance):
    backends = ("designer", "sdk")
    cancel_backends = ("sdk",)
    serving_backends = ("sdk",)

    @pytest.fixture
    def harness(self, mock_azure_ml: FakeAzureML) -> TargetHarness:
        return AzureMLHarness(mock_azure_ml)


class TestDatabricks(TargetConformance):
    backends = ("automl",)
    cancel_backends = ("automl",)
    serving_backends = ("automl",)

    @pytest.fixture
    def harness(self, mock_databricks: FakeDatabricks) -> TargetHarness:
        return DatabricksHarness(mock_databricks)
