"""The fake's MLflow: what the tasks run in the twin logged, read back over the REST API.

The twin logs to an MLflow file store under the fake's folder (MLflow 2, the
runtime's); this service reads that store's plain files (``meta.yaml``,
``metrics/<key>``, ``params/<key>``) so any client version can ask for a run.
Models live in the registries' folder (see the stand-in's ``_registry``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from cloudml_edu.testing._http import Reply, SentRequest, json_reply, proto_double
from cloudml_edu.testing.databricks._routes import Routes, error

if TYPE_CHECKING:
    from cloudml_edu.testing.databricks import FakeDatabricks

__all__ = ["MlflowService", "model_version"]


def _latest(path: Path) -> float:
    """The last value of a file-store metric (lines ``timestamp value step``)."""
    return float(path.read_text().strip().splitlines()[-1].split()[1])


def model_version(fake: FakeDatabricks, name: str, version: str) -> dict[str, Any] | None:
    """A registered model version's ``meta.yaml`` (``source`` is where its files are), or None."""
    meta = fake.registry_root / "models" / name / f"version-{version}" / "meta.yaml"
    if not meta.is_file():
        return None
    found: dict[str, Any] = yaml.safe_load(meta.read_text())
    return found


class MlflowService(Routes):
    """``/api/2.0/mlflow/runs/get`` and the legacy registry's ``registered-models/search``."""

    def __init__(self, fake: FakeDatabricks) -> None:
        super().__init__(fake)
        self.route("GET", r"/api/2\.0/mlflow/runs/get", self._run)
        self.route("GET", r"/api/2\.0/mlflow/registered-models/search", self._search)

    def _run(self, request: SentRequest) -> Reply:
        run_id = request.query.get("run_id", "")
        folders = list((self.fake.mlflow_root / "mlruns").glob(f"*/{run_id}")) if run_id else []
        if not folders:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Run '{run_id}' not found.")
        folder = folders[0]
        metrics = [
            {"key": p.name, "value": proto_double(_latest(p)), "step": 0, "timestamp": 0}
            for p in sorted((folder / "metrics").glob("*"))
        ]
        params = [
            {"key": p.name, "value": p.read_text()} for p in sorted((folder / "params").glob("*"))
        ]
        info = {"run_id": run_id, "experiment_id": folder.parent.name, "status": "FINISHED"}
        return json_reply(
            200, {"run": {"info": info, "data": {"metrics": metrics, "params": params}}}
        )

    def _search(self, request: SentRequest) -> Reply:
        if not self.fake.legacy_registry:
            return error(
                400,
                "FEATURE_DISABLED",
                "Workspace Model Registry is disabled for this workspace. Use Models in Unity "
                "Catalog instead.",
            )
        names = sorted(p.name for p in (self.fake.registry_root / "models").glob("*"))
        legacy = [{"name": n} for n in names if n.count(".") != 2]
        return json_reply(200, {"registered_models": legacy})
