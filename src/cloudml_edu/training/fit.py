"""Train one model on a split and record everything a run keeps, the same way for every backend."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cloudml_edu.records.metrics import ARTIFACT_NAME, Compute, Metrics
from cloudml_edu.training.evaluate import Scores, evaluate, score
from cloudml_edu.training.features import FeatureSpec, featurize
from cloudml_edu.training.models import build_model

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.manifest import ImageRecord

__all__ = [
    "Featurized",
    "Outcome",
    "featurize_dataset",
    "fit_model",
    "log_outcome",
    "train_model",
    "write_run_files",
]

MAX_MISCLASSIFIED = 36


@dataclass
class Featurized:
    """A dataset turned into a feature matrix, with labels and the records in row order."""

    features: npt.NDArray[np.float32]
    labels: list[str]
    records: list[ImageRecord]

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            X=self.features,
            y=np.array(self.labels),
            paths=np.array([r.path for r in self.records]),
        )


def featurize_dataset(dataset: Dataset, spec: FeatureSpec) -> Featurized:
    """Read every image of ``dataset`` and featurize it."""
    records: list[ImageRecord] = []
    blobs: list[bytes] = []
    for record, data in dataset.iter_bytes():
        records.append(record)
        blobs.append(data)
    return Featurized(featurize(blobs, spec), [r.label for r in records], records)


@dataclass
class Outcome:
    """A fitted model and its evaluation on the test split."""

    model: Any
    spec: FeatureSpec
    family: str
    params: dict[str, Any]
    metrics: Metrics
    scores: Scores
    test: Featurized
    extra_params: dict[str, Any] = field(default_factory=dict)


def train_model(
    train: Featurized, *, family: str, params: dict[str, Any], seed: int
) -> tuple[Any, float]:
    """Fit ``family`` with ``params`` on ``train``; returns the model and the seconds it took."""
    model = build_model(family, params, seed=seed)
    started = time.perf_counter()
    model.fit(train.features, train.labels)
    return model, time.perf_counter() - started


def fit_model(
    train: Featurized,
    test: Featurized,
    *,
    spec: FeatureSpec,
    family: str,
    params: dict[str, Any],
    seed: int,
    compute: Compute | None = None,
) -> Outcome:
    """Train on ``train``, score and evaluate on ``test``."""
    model, seconds = train_model(train, family=family, params=params, seed=seed)
    scores = score(model, test.features)
    metrics = evaluate(
        test.labels, scores, n_train=len(train.labels), train_seconds=seconds, compute=compute
    )
    return Outcome(model, spec, family, params, metrics, scores, test)


def _predictions_csv(outcome: Outcome) -> str:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "path": [r.path for r in outcome.test.records],
            "md5": [r.md5 for r in outcome.test.records],
            "label": outcome.test.labels,
            "predicted": outcome.scores.predicted,
            "score": outcome.scores.probabilities.max(axis=1),
        }
    )
    for i, label in enumerate(outcome.scores.labels):
        frame["p:" + label] = outcome.scores.probabilities[:, i]
    return str(frame.to_csv(index=False))


def write_run_files(outcome: Outcome, folder: Path, *, test_set: Dataset | None = None) -> Path:
    """Write the files every run keeps into ``folder``: ``metrics.json``, ``predictions.csv``,
    ``features.npz`` (test features) and up to 36 misclassified test images with their
    ``index.json``. Logged to MLflow by :func:`log_outcome`; a cloud job writes them to an
    output the library reads back, so the report shows the same for every backend."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ARTIFACT_NAME).write_text(outcome.metrics.artifact())
    (folder / "predictions.csv").write_text(_predictions_csv(outcome))
    np.savez_compressed(
        folder / "features.npz",
        X=outcome.test.features,
        y=np.array(outcome.test.labels),
        predicted=np.array(outcome.scores.predicted),
        paths=np.array([r.path for r in outcome.test.records]),
    )
    if test_set is not None:
        _write_misclassified(outcome, test_set, folder / "misclassified")
    return folder


def log_outcome(
    outcome: Outcome,
    *,
    test_set: Dataset | None = None,
    log_model: bool = True,
    model_dir: Path | None = None,
) -> str | None:
    """Log params, metrics and the run's files (:func:`write_run_files`) and the pyfunc model to
    the active MLflow run; returns the model URI (or None).

    With ``model_dir`` the model is saved there instead (a job output on Azure ML) and
    its path returned.
    """
    import tempfile

    import mlflow

    params = {
        "model.family": outcome.family,
        **{f"model.{k}": v for k, v in outcome.params.items()},
    }
    params.update({f"features.{k}": v for k, v in outcome.spec.to_dict().items()})
    params.update(outcome.extra_params)
    mlflow.log_params(params)
    mlflow.log_metrics(outcome.metrics.to_mlflow())
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.log_artifacts(str(write_run_files(outcome, Path(tmp), test_set=test_set)))
    if not log_model:
        return None
    from cloudml_edu.training.pyfunc import log_model as log_pyfunc
    from cloudml_edu.training.pyfunc import save_model

    example = None
    if test_set is not None and test_set.records:
        example = next(iter(test_set.source.iter_bytes(test_set.records[:1])))[1]
    if model_dir is not None:
        return str(save_model(outcome.model, outcome.spec, model_dir, example=example))
    return log_pyfunc(outcome.model, outcome.spec, example=example)


def _write_misclassified(outcome: Outcome, test_set: Dataset, folder: Path) -> None:
    """Keep up to 36 misclassified test images (as files) so reports can show them."""
    wrong = {
        r.path: (truth, guess)
        for r, truth, guess in zip(
            outcome.test.records, outcome.test.labels, outcome.scores.predicted, strict=True
        )
        if truth != guess
    }
    chosen: Sequence[ImageRecord] = [r for r in test_set.records if r.path in wrong][
        :MAX_MISCLASSIFIED
    ]
    index = []
    folder.mkdir(parents=True, exist_ok=True)
    for i, (record, data) in enumerate(test_set.source.iter_bytes(chosen)):
        name = f"{i:02d}{Path(record.path).suffix or '.png'}"
        truth, guess = wrong[record.path]
        index.append({"file": name, "path": record.path, "label": truth, "predicted": guess})
        (folder / name).write_bytes(data)
    (folder / "index.json").write_text(json.dumps(index, indent=1))
