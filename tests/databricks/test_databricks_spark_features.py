"""Featurizing where the data is: the Spark pandas UDF of the AutoML task, run with local pyspark in
the runtime's twin, gives the local featurizer's arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cloudml_edu import Dataset, Trainer
from cloudml_edu.testing.databricks import FakeDatabricks

SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from cloudml_edu.training.features import FeatureSpec, featurize_one
from cloudml_edu.training.spark_features import featurize_on_spark
import automl_task

spec = FeatureSpec.from_dict(json.loads(sys.argv[3]))
spark = SparkSession.builder.getOrCreate()
automl_task._ship_code(spark, sys.argv[1])
table = featurize_on_spark(spark.read.parquet(sys.argv[2]), spec).toPandas()
images = pd.read_parquet(sys.argv[2])
local = np.vstack([featurize_one(bytes(b), spec) for b in images["content"]])
columns = [c for c in table.columns if c.startswith("f")]
np.save(sys.argv[4], table[columns].to_numpy(dtype=np.float32))
print(json.dumps({
    "same": bool(np.array_equal(table[columns].to_numpy(dtype=np.float32), local)),
    "labels": table["label"].tolist() == images["label"].tolist(),
    "splits": table["split"].tolist() == images["split"].tolist(),
}))
"""


@pytest.mark.slow
def test_spark_features_equal_the_local_featurizer(shapes: Dataset, tmp_path: Path) -> None:
    from cloudml_edu.backends.databricks.environment import RUNTIME_ENVIRONMENT
    from cloudml_edu.backends.databricks.task_code import task_files
    from cloudml_edu.testing.twins import ensure_twin
    from cloudml_edu.training.features import FeatureSpec
    from cloudml_edu.training.tabular import feature_frame, image_frame

    code = tmp_path / "code"
    for name, content in task_files().items():
        (code / name).parent.mkdir(parents=True, exist_ok=True)
        (code / name).write_bytes(content)
    spec = FeatureSpec(size=12, mode="L", gradients=True, cell=4, orientations=6)
    image_frame(shapes, test_size=0.2, seed=0).to_parquet(tmp_path / "images.parquet")
    twin = ensure_twin(RUNTIME_ENVIRONMENT)
    done = twin.run(
        [
            "python",
            "-c",
            SCRIPT,
            str(code),
            str(tmp_path / "images.parquet"),
            json.dumps(spec.to_dict()),
            str(tmp_path / "spark.npy"),
        ],
        cwd=tmp_path,
        env={"PYSPARK_PYTHON": str(twin.python), "SPARK_LOCAL_IP": "127.0.0.1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"same": True, "labels": True, "splits": True}  # bit for bit, same order
    # and the library's own featurizer here (newer numpy and Pillow) agrees
    here = feature_frame(shapes, spec, test_size=0.2, seed=0)
    spark = np.load(tmp_path / "spark.npy")
    assert spark.shape == (len(shapes), spec.n_features)
    assert np.allclose(spark, here.filter(like="f").to_numpy(dtype=np.float32), atol=1e-5)


@pytest.mark.slow
def test_a_large_dataset_trains_on_features_made_on_the_cluster(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    import pandas as pd

    ws = mock_databricks.configure(spark_featurize_above=10)
    run = Trainer("automl", workspace=ws, timeout_minutes=5).fit(shapes)
    assert run.status == "Completed" and run.metrics is not None
    assert run.metrics.accuracy is not None and run.metrics.accuracy >= 0.8
    (parquet,) = mock_databricks.volumes_root.glob("main/cloudml_tester/cloudml/images/*/*/*")
    assert list(pd.read_parquet(parquet).columns) == ["label", "split", "content"]
