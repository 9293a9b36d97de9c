"""Images as a feature table, for services that train on tables (Databricks AutoML).

One row per image: ``label``, ``split`` (``train`` / ``validate`` / ``test``, the
names AutoML's ``split_col`` takes) and one float column per feature
(``f0000``...), made by the same featurizer as every other backend, with the
same test split, so the comparison is fair.  :class:`FrameClassifier` lets a
model trained on those columns serve inside the image pyfunc model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

    from cloudml_edu.datasets import Dataset
    from cloudml_edu.training.features import FeatureSpec

__all__ = ["FrameClassifier", "feature_columns", "feature_frame"]

VALIDATION_SIZE = 0.2


def feature_columns(n_features: int) -> list[str]:
    """``f0000``, ``f0001``...: the feature column names of a table of ``n_features``."""
    return [f"f{i:04d}" for i in range(n_features)]


def feature_frame(
    dataset: Dataset, spec: FeatureSpec, *, test_size: float, seed: int
) -> pd.DataFrame:
    """The feature table of ``dataset``: the local backends' split, then validation out of train."""
    import pandas as pd

    from cloudml_edu.training.fit import featurize_dataset

    train, test = dataset.split(test_size=test_size, seed=seed)
    inner, valid = train.split(test_size=VALIDATION_SIZE, seed=seed)
    frames = []
    for part, split in ((inner, "train"), (valid, "validate"), (test, "test")):
        featurized = featurize_dataset(part, spec)
        frame = pd.DataFrame(featurized.features, columns=feature_columns(spec.n_features))
        frame.insert(0, "split", split)
        frame.insert(0, "label", featurized.labels)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


class FrameClassifier:
    """A classifier trained on named feature columns, called with a feature matrix.

    AutoML's best model is a scikit-learn pipeline that selects columns by name;
    the image pyfunc model passes a plain matrix, which this names again.
    """

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
