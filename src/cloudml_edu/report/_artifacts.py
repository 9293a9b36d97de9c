"""Read what a run logged to MLflow: its artifact listing, parameters and artifact files."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.errors import NotFoundError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from cloudml_edu.run import TrainingRun

__all__ = ["Misclassified", "RunFiles", "artifact_files"]

log = logging.getLogger(__name__)


def _client(run: TrainingRun) -> Any:
    import mlflow

    return mlflow.MlflowClient(tracking_uri=run.tracking_uri)


def artifact_files(run: TrainingRun) -> list[str] | None:
    """Every artifact file of the run (recursively), or None when its store is unknown."""
    if not run.tracking_uri:
        return None
    client = _client(run)
    files: list[str] = []
    pending = [""]
    try:
        while pending:
            for info in client.list_artifacts(run.id, pending.pop() or None):
                (pending if info.is_dir else files).append(info.path)
    except Exception as exc:  # an unreachable store leaves the count unknown, not the comparison
        log.warning("cannot list the artifacts of run %s: %s", run.id, exc)
        return None
    return sorted(files)


@dataclass(frozen=True)
class Misclassified:
    """One misclassified test image with its true and predicted label."""

    image: bytes
    path: str
    label: str
    predicted: str


class RunFiles:
    """A run's artifacts, downloaded once into ``folder`` and read on demand."""

    def __init__(self, run: TrainingRun, folder: Path) -> None:
        self.run = run
        self.folder = folder
        self._downloaded = False

    def _root(self) -> Path:
        if not self._downloaded:
            if not self.run.tracking_uri:
                raise NotFoundError(
                    f"run {self.run.id} has no tracking URI; load it with "
                    "TrainingRun.get(workspace, run_id) to read its artifacts"
                )
            import mlflow

            self.folder.mkdir(parents=True, exist_ok=True)
            mlflow.artifacts.download_artifacts(
                run_id=self.run.id, dst_path=str(self.folder), tracking_uri=self.run.tracking_uri
            )
            self._downloaded = True
        return self.folder

    def path(self, name: str) -> Path:
        """The local copy of artifact ``name``; NotFoundError if the run did not log it."""
        found = self._root() / name
        if not found.exists():
            raise NotFoundError(self._missing(name))
        return found

    def _missing(self, name: str) -> str:
        """Why ``name`` is not there, and what to do: a cloud run's service kept it (or not)."""
        run = self.run
        if run.target == "local":
            return (
                f"run {run.id} ({run.backend}) logged no {name}; retrain it with this version "
                "of cloudml-edu to get predictions, features and misclassified images"
            )
        from cloudml_edu.targets import all_targets

        known = all_targets().get(run.target)  # a plug-in target may not be installed here
        title = known.title if known is not None else run.target
        where = f" ({run.remote.url})" if run.remote is not None and run.remote.url else ""
        return (
            f"run {run.id} ({run.backend} on {title}) brought back no {name}; what the service "
            f"kept of it is in the {title} workspace{where}"
        )

    def predictions(self) -> pd.DataFrame:
        """``predictions.csv``: path, md5, label, predicted, score and ``p:<class>`` columns."""
        import pandas as pd

        return pd.read_csv(self.path("predictions.csv"), dtype={"label": str, "predicted": str})

    def features(self) -> dict[str, npt.NDArray[np.generic]]:
        """``features.npz``: ``X`` (test features), ``y``, ``predicted`` and ``paths``."""
        import numpy as np

        with np.load(self.path("features.npz")) as data:
            return {key: data[key] for key in data.files}

    def misclassified(self) -> list[Misclassified]:
        """The misclassified test images kept by training (at most 36)."""
        folder = self.path("misclassified")
        index = json.loads((folder / "index.json").read_text())
        return [
            Misclassified(
                (folder / item["file"]).read_bytes(),
                item["path"],
                str(item["label"]),
                str(item["predicted"]),
            )
            for item in index
        ]
