"""Local vs Spark featurization of N images (default 20,000): where should the features be made?

Local: the library's featurizer in this process, one image after another (what
``Trainer("automl")`` on Databricks does below ``[databricks] spark_featurize_above``).
Spark: the AutoML task's pandas UDF (:mod:`cloudml_edu.training.spark_features`)
with local-mode pyspark in the Databricks runtime's twin, on this machine's
cores (``local[*]``), from a Parquet table of the images, Spark's start included.
Both compute the same arrays (tests/databricks/test_databricks_spark_features.py).

    python benchmarks/bench_spark_features.py [--images 20000] [--size 28]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from benchmarks._util import table
from cloudml_edu.backends.databricks.environment import RUNTIME_ENVIRONMENT
from cloudml_edu.backends.databricks.task_code import task_files
from cloudml_edu.testing.twins import ensure_twin
from cloudml_edu.training.features import FeatureSpec, featurize

SPARK = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from pyspark.sql import SparkSession
from cloudml_edu.training.features import FeatureSpec
from cloudml_edu.training.spark_features import featurize_on_spark
import automl_task
spark = SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false").getOrCreate()
automl_task._ship_code(spark, sys.argv[1])
ready = time.perf_counter()
spec = FeatureSpec.from_dict(json.loads(sys.argv[3]))
rows = featurize_on_spark(spark.read.parquet(sys.argv[2]), spec).count()
done = time.perf_counter()
print(json.dumps({"rows": rows, "start": ready - started, "featurize": done - ready}))
"""


def _images(n: int, size: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    found = []
    for i in range(n):
        image = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(image)
        x, y = (int(v) for v in rng.integers(2, size // 2, 2))
        shape = draw.ellipse if i % 2 else draw.rectangle
        shape((x, y, x + size // 3, y + size // 3), outline=255, width=2)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        found.append(buffer.getvalue())
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=28)
    args = parser.parse_args()
    spec = FeatureSpec()
    images = _images(args.images, args.size)
    started = time.perf_counter()
    local = featurize(images, spec)
    local_seconds = time.perf_counter() - started
    twin = ensure_twin(RUNTIME_ENVIRONMENT)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, content in task_files().items():
            (root / "code" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "code" / name).write_bytes(content)
        frame = pd.DataFrame({"label": "x", "split": "train", "content": images})
        frame.to_parquet(root / "images.parquet", row_group_size=2000)
        started = time.perf_counter()
        done = twin.run(
            [
                "python",
                "-c",
                SPARK,
                str(root / "code"),
                str(root / "images.parquet"),
                json.dumps(spec.to_dict()),
            ],
            cwd=root,
            env={"PYSPARK_PYTHON": str(twin.python), "SPARK_LOCAL_IP": "127.0.0.1"},
            timeout=3600,
        )
        spark_wall = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    spark = json.loads(done.stdout.strip().splitlines()[-1])
    rows: list[tuple[str, ...]] = [
        ("where", "seconds", "images/s"),
        (
            "local (this process, 1 core)",
            f"{local_seconds:.1f}",
            f"{len(local) / local_seconds:,.0f}",
        ),
        (
            f"Spark pandas UDF, local[*] on {os.cpu_count()} cores (featurize)",
            f"{spark['featurize']:.1f}",
            f"{spark['rows'] / spark['featurize']:,.0f}",
        ),
        ("Spark: session start", f"{spark['start']:.1f}", ""),
        ("Spark: whole process (interpreter + start + featurize)", f"{spark_wall:.1f}", ""),
    ]
    print(
        f"{args.images:,} PNG images of {args.size} x {args.size}, FeatureSpec() ({spec.n_features} features)\n"
    )
    print(table(rows))
    return 0 if spark["rows"] == len(local) else 1


if __name__ == "__main__":
    sys.exit(main())
