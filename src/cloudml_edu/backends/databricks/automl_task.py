"""The task of a Databricks ``automl`` run: uploaded to the workspace, run by ``spark_python_task``.

Runs on a Databricks Runtime ML cluster (single user; ``databricks.automl`` is
there up to Runtime 17.x ML) with nothing installed over the runtime: the few
cloudml-edu modules it needs come as workspace files in ``--code-dir`` (plain
Python on the runtime's numpy, pandas, Pillow, scikit-learn and MLflow 2).  It
reads the feature table (or featurizes the images on Spark), calls
``databricks.automl.classify``, wraps the best trial's model with the featurizer
into the image pyfunc model (requirements: the best trial's own plus the
featurizer's), registers it (Unity Catalog by default) and prints one line
``CLOUDML_RESULT {json}`` that the adapter reads with ``jobs/runs/get-output``:
the trials, the model, and the model's class probabilities on the test split
(the adapter scores them with the library's own evaluation).
Never imported by the library itself.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

RESULT_MARKER = "CLOUDML_RESULT "


def _minutes(duration: Any) -> float:
    """AutoML reports a trial's duration as text such as ``'1.234 minutes'``."""
    found = re.search(r"[\d.]+", str(duration))
    return float(found.group()) if found else 0.0


def _read(spark: Any, source: str) -> Any:
    """A table name (``catalog.schema.table``) or a Parquet folder (``/Volumes/...``, ``abfss://...``)."""
    if "/" in source:
        return spark.read.parquet(source)
    return spark.table(source)


def _ship_code(spark: Any, code_dir: str) -> None:
    """Make ``cloudml_edu`` importable on Spark's Python workers (for the featurizing UDF)."""
    import shutil
    import tempfile

    archive = shutil.make_archive(
        str(Path(tempfile.mkdtemp()) / "cloudml_edu_code"), "zip", code_dir, "cloudml_edu"
    )
    spark.sparkContext.addPyFile(archive)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code-dir", required=True, help="folder holding cloudml_edu/")
    parser.add_argument("--source", required=True, help="table name or Parquet folder")
    parser.add_argument("--input", choices=("features", "images"), default="features")
    parser.add_argument("--primary-metric", required=True)
    parser.add_argument("--timeout-minutes", type=int, required=True)
    parser.add_argument("--experiment-dir", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--feature-spec", required=True, help="FeatureSpec as JSON")
    parser.add_argument("--registry-uri", default="databricks-uc")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.code_dir)

    import importlib

    import mlflow
    from pyspark.sql import SparkSession

    from cloudml_edu.training.features import FeatureSpec
    from cloudml_edu.training.frame import FrameClassifier
    from cloudml_edu.training.pyfunc import log_model

    automl: Any = importlib.import_module("databricks.automl")  # on the ML runtime

    spec = FeatureSpec.from_dict(json.loads(args.feature_spec))
    spark = SparkSession.builder.getOrCreate()
    frame = _read(spark, args.source)
    if args.input == "images":
        from cloudml_edu.training.spark_features import featurize_on_spark

        _ship_code(spark, args.code_dir)
        frame = featurize_on_spark(frame, spec)
    summary = automl.classify(
        frame,
        target_col="label",
        split_col="split",
        primary_metric=args.primary_metric,
        timeout_minutes=args.timeout_minutes,
        experiment_dir=args.experiment_dir,
    )
    best = summary.best_trial
    columns = [c for c in frame.columns if c not in {"label", "split"}]
    model = FrameClassifier(mlflow.sklearn.load_model(best.model_path), columns)
    needs = Path(mlflow.pyfunc.get_model_dependencies(best.model_path)).read_text().splitlines()
    mlflow.set_registry_uri(args.registry_uri)
    with mlflow.start_run(experiment_id=summary.experiment.experiment_id, run_name="image-model"):
        uri = log_model(model, spec, extra_requirements=needs)
    version = mlflow.register_model(uri, args.model_name)
    test = frame.filter(frame.split == "test").toPandas() if hasattr(frame, "filter") else None
    result = {
        "experiment_id": summary.experiment.experiment_id,
        "best_run_id": best.mlflow_run_id,
        "model_name": args.model_name,
        "model_version": str(version.version),
        "trials": [
            {
                "run_id": trial.mlflow_run_id,
                "model": trial.model_description,
                "score": trial.evaluation_metric_score,
                "duration": _minutes(trial.duration) * 60,
                "params": {k: str(v) for k, v in (trial.params or {}).items()},
            }
            for trial in summary.trials
        ],
    }
    if test is not None and len(test):  # the served model's own answers on the test split
        probabilities = model.predict_proba(test[columns].to_numpy(dtype="float32"))
        result["test"] = {
            "truth": [str(x) for x in test["label"]],
            "labels": [str(x) for x in model.classes_],
            "probabilities": [[round(float(p), 6) for p in row] for row in probabilities],
        }
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
