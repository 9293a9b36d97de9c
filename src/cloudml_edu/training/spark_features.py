"""Features computed where the images are: a Spark pandas UDF around the local featurizer.

Used by the Databricks ``automl`` task when a dataset is larger than
``[databricks] spark_featurize_above`` images: the images travel to the cluster
as they are (one Parquet table of ``label``, ``split``, ``content``), and each
Spark worker featurizes its share with :func:`~cloudml_edu.training.features.featurize_one`,
so the arrays are the local featurizer's, bit for bit.  Workers import
``cloudml_edu`` from the code the task ships with ``SparkContext.addPyFile``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd  # at module level: pyspark reads the UDF's type hints from these globals

from cloudml_edu.training.features import FeatureSpec, feature_columns

__all__ = ["featurize_on_spark"]


def featurize_on_spark(images: Any, spec: FeatureSpec) -> Any:
    """``images`` (a Spark DataFrame with ``label``, ``split``, binary ``content``) as the
    feature table: ``label``, ``split``, ``f0000``... (float)."""
    from pyspark.sql import functions
    from pyspark.sql.types import ArrayType, FloatType

    settings = spec.to_dict()

    @functions.pandas_udf(ArrayType(FloatType()))  # type: ignore[untyped-decorator,unused-ignore]
    def features(content: pd.Series) -> pd.Series:
        from cloudml_edu.training.features import FeatureSpec, featurize_one

        worker_spec = FeatureSpec.from_dict(settings)
        return pd.Series([featurize_one(bytes(data), worker_spec).tolist() for data in content])

    arrays = images.select("label", "split", features("content").alias("features"))
    names = feature_columns(spec.n_features)
    return arrays.select(
        "label",
        "split",
        *[functions.col("features")[i].alias(name) for i, name in enumerate(names)],
    )
