"""A classifier trained on named feature columns, called with a feature matrix.

numpy and pandas only: every served model ships this file (see
:mod:`cloudml_edu.training.pyfunc`), so a model that pickles a
:class:`FrameClassifier` (the Databricks AutoML one) loads wherever it is served.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["FrameClassifier"]


class FrameClassifier:
    """Wraps a model that selects columns by name (AutoML's pipelines do) for a plain matrix."""

    def __init__(self, model: Any, columns: list[str]) -> None:
        self.model = model
        self.columns = list(columns)
        self.classes_ = np.asarray([str(c) for c in model.classes_])

    def predict_proba(self, features: npt.NDArray[np.float32]) -> Any:
        import pandas as pd

        return self.model.predict_proba(pd.DataFrame(features, columns=self.columns))

    def predict(self, features: npt.NDArray[np.float32]) -> Any:
        probabilities = np.asarray(self.predict_proba(features))
        return self.classes_[probabilities.argmax(axis=1)]
