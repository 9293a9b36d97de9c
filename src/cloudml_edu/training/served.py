"""The model every endpoint serves: base64 image bytes in, labels and scores out.

The model does its own preprocessing (the stored :class:`FeatureSpec`), so the
same model serves from the local MLflow server, Azure ML and Databricks.  Input:
a DataFrame with a string column ``image`` (base64 of the encoded file).  Output:
columns ``label``, ``score`` and ``p:<class>`` for every class.

Shipped inside every logged model with the few modules it imports
(:data:`cloudml_edu.training.pyfunc.SHIPPED`): nothing else of cloudml-edu, and
only mlflow, pandas, numpy, Pillow and (for the classifier) scikit-learn.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from cloudml_edu.training.columns import INPUT_COLUMN, PROBA_PREFIX
from cloudml_edu.training.features import FeatureSpec, featurize
from cloudml_edu.training.scores import score

__all__ = ["ImageClassifier"]


class ImageClassifier(PythonModel):
    """Decode, featurize and classify images sent as base64 strings."""

    def load_context(self, context: Any) -> None:
        import joblib

        self._model = joblib.load(context.artifacts["classifier"])
        spec = json.loads(Path(context.artifacts["features"]).read_text())
        self._spec = FeatureSpec.from_dict(spec)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        if INPUT_COLUMN not in model_input:
            raise ValueError(f"the input needs a column {INPUT_COLUMN!r} of base64-encoded images")
        images: list[bytes] = []
        for index, text in enumerate(model_input[INPUT_COLUMN]):
            try:
                images.append(base64.b64decode(text, validate=True))
            except (binascii.Error, TypeError) as exc:
                raise ValueError(f"row {index}: not valid base64 ({exc})") from None
        try:
            features = featurize(images, self._spec)
        except OSError as exc:
            raise ValueError(f"an input is not a readable image ({exc})") from None
        scores = score(self._model, features)
        frame = pd.DataFrame({"label": scores.predicted, "score": scores.probabilities.max(axis=1)})
        for i, label in enumerate(scores.labels):
            frame[PROBA_PREFIX + label] = scores.probabilities[:, i]
        return frame
