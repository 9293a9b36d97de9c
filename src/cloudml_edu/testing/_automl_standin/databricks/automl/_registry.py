"""Stand-ins for the two model registries a Databricks cluster talks to, for the twin only.

MLflow finds them through the ``mlflow.model_registry_store`` entry points of the
stand-in's ``.dist-info`` (on the twin's ``PYTHONPATH``), so the task's own
``mlflow.set_registry_uri("databricks-uc")`` (or ``"databricks"``) works unchanged.
Both keep models in a folder the fake reads (``$CLOUDML_TWIN_REGISTRY``).  The
Unity Catalog one refuses what Unity Catalog refuses (a name that is not
``catalog.schema.model``, a model without an input and output signature); the
workspace one answers FEATURE_DISABLED when the fake's workspace has it disabled
(``$CLOUDML_TWIN_LEGACY_REGISTRY=disabled``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.store.model_registry.file_store import FileStore

__all__ = ["UnityCatalogStandIn", "WorkspaceRegistryStandIn"]


def _root() -> str:
    return os.environ.get("CLOUDML_TWIN_REGISTRY") or str(Path.cwd() / "registry")


class UnityCatalogStandIn(FileStore):
    """``databricks-uc``: three-level names and signed models only."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(_root())

    def create_registered_model(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if len(name.split(".")) != 3:
            raise MlflowException(
                f"Invalid model name {name!r}: models in Unity Catalog are named "
                "<catalog>.<schema>.<model>",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return super().create_registered_model(name, *args, **kwargs)

    def create_model_version(self, name: str, source: str, *args: Any, **kwargs: Any) -> Any:
        from mlflow.models import Model
        from mlflow.tracking.artifact_utils import _download_artifact_from_uri

        local = _download_artifact_from_uri(source.rstrip("/") + "/MLmodel")
        signature = Model.load(local).signature
        if signature is None or signature.inputs is None or signature.outputs is None:
            raise MlflowException(
                "Model passed for registration did not contain a signature with both input and "
                "output type specifications. All models in the Unity Catalog must be logged "
                "with a model signature containing both input and output type specifications.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return super().create_model_version(name, source, *args, **kwargs)


class WorkspaceRegistryStandIn(FileStore):
    """``databricks``: the legacy Workspace Model Registry, possibly disabled."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        if os.environ.get("CLOUDML_TWIN_LEGACY_REGISTRY") == "disabled":
            raise MlflowException(
                "Workspace Model Registry is disabled for this workspace. Use Models in Unity "
                "Catalog instead.",
                error_code="FEATURE_DISABLED",
            )
        super().__init__(_root())
