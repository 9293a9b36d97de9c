"""Images as a feature table, for services that train on tables (Databricks AutoML).

One row per image: ``label``, ``split`` (``train`` / ``validate`` / ``test``, the
names AutoML's ``split_col`` takes) and one float column per feature
(``f0000``...), made by the same featurizer as every other backend, with the
same test split, so the comparison is fair.  :class:`~cloudml_edu.training.frame.FrameClassifier`
(re-exported here) lets a model trained on those columns serve inside the image pyfunc model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudml_edu.training.features import feature_columns
from cloudml_edu.training.frame import FrameClassifier

if TYPE_CHECKING:
    import pandas as pd

    from cloudml_edu.datasets import Dataset
    from cloudml_edu.training.features import FeatureSpec

__all__ = ["FrameClassifier", "feature_columns", "feature_frame", "image_frame"]

VALIDATION_SIZE = 0.2


def _parts(dataset: Dataset, test_size: float, seed: int) -> list[tuple[Dataset, str]]:
    """The local backends' split, then validation out of train: (part, AutoML split name)."""
    train, test = dataset.split(test_size=test_size, seed=seed)
    inner, valid = train.split(test_size=VALIDATION_SIZE, seed=seed)
    return [(inner, "train"), (valid, "validate"), (test, "test")]


def feature_frame(
    dataset: Dataset, spec: FeatureSpec, *, test_size: float, seed: int
) -> pd.DataFrame:
    """The feature table of ``dataset``: ``label``, ``split``, ``f0000``..."""
    import pandas as pd

    from cloudml_edu.training.fit import featurize_dataset

    frames = []
    for part, split in _parts(dataset, test_size, seed):
        featurized = featurize_dataset(part, spec)
        frame = pd.DataFrame(featurized.features, columns=feature_columns(spec.n_features))
        frame.insert(0, "split", split)
        frame.insert(0, "label", featurized.labels)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def image_frame(dataset: Dataset, *, test_size: float, seed: int) -> pd.DataFrame:
    """The images of ``dataset`` with the same split: ``label``, ``split``, ``content`` (the file's bytes),
    for featurizing where the table goes (:mod:`cloudml_edu.training.spark_features`)."""
    import pandas as pd

    rows = [
        {"label": record.label, "split": split, "content": data}
        for part, split in _parts(dataset, test_size, seed)
        for record, data in part.iter_bytes()
    ]
    return pd.DataFrame(rows, columns=["label", "split", "content"])
