"""The MLflow pyfunc model every backend produces: base64 image bytes in, labels and scores out.

The model does its own preprocessing (the stored :class:`FeatureSpec`), so the
same model serves from the local MLflow server, Azure ML and Databricks.  Input:
a DataFrame with a string column ``image`` (base64 of the encoded file).  Output:
columns ``label``, ``score`` and ``p:<class>`` for every class.
"""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from cloudml_edu.backends.local.serving import INPUT_COLUMN, PROBA_PREFIX
from cloudml_edu.training.evaluate import score
from cloudml_edu.training.features import FeatureSpec, featurize

__all__ = ["INPUT_COLUMN", "PROBA_PREFIX", "ImageClassifier", "log_model"]


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


def log_model(
    model: Any, spec: FeatureSpec, *, example: bytes | None = None, name: str = "model"
) -> str:
    """Log ``model`` as an MLflow pyfunc in the active run; returns its ``runs:/`` URI.

    The model is logged "from code" (no pickled Python object); ``example`` (one
    encoded image) becomes the model's input example, a ready request for students.
    """
    import joblib
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from cloudml_edu import __version__

    signature = ModelSignature(inputs=Schema([ColSpec("string", INPUT_COLUMN)]))
    with tempfile.TemporaryDirectory() as tmp:
        classifier = Path(tmp, "classifier.joblib")
        joblib.dump(model, classifier)
        features = Path(tmp, "features.json")
        features.write_text(json.dumps(spec.to_dict()))
        import mlflow

        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(Path(__file__).with_name("_model_code.py")),
            artifacts={"classifier": str(classifier), "features": str(features)},
            signature=signature,
            input_example=_example_frame(example) if example is not None else None,
            pip_requirements=[
                f"cloudml-edu=={__version__}",
                "scikit-learn",
                "pillow",
                "numpy",
                "pandas",
            ],
        )
    run = mlflow.active_run()
    return f"runs:/{run.info.run_id}/{name}" if run else str(info.model_uri)


def _example_frame(image: bytes) -> pd.DataFrame:
    return pd.DataFrame({INPUT_COLUMN: [base64.b64encode(image).decode("ascii")]})
