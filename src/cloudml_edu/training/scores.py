"""A fitted classifier's answer on a feature matrix: labels and class probabilities.

numpy only: the served model ships this file (see :mod:`cloudml_edu.training.pyfunc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Scores", "score"]


@dataclass(frozen=True)
class Scores:
    """A model's output on a set of images: predicted labels and class probabilities."""

    labels: list[str]
    predicted: list[str]
    probabilities: npt.NDArray[np.float64]


def score(model: Any, features: npt.NDArray[np.float32]) -> Scores:
    """Run ``model`` (a fitted scikit-learn pipeline) on ``features``."""
    labels = [str(c) for c in model.classes_]
    probabilities = np.asarray(model.predict_proba(features), dtype=np.float64)
    probabilities /= probabilities.sum(axis=1, keepdims=True)  # float32 models drift from 1
    predicted = [labels[i] for i in probabilities.argmax(axis=1)]
    return Scores(labels=labels, predicted=predicted, probabilities=probabilities)
