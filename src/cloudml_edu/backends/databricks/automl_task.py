"""The task of a Databricks ``automl`` run: uploaded to the workspace, run by ``spark_python_task``.

Runs on a Databricks Runtime ML cluster (single user; ``databricks.automl`` is
there up to Runtime 17.x ML) with cloudml-edu installed as a cluster library.
It calls ``databricks.automl.classify`` on the feature table, wraps the best
trial's model with the featurizer into the image pyfunc model, registers it,
and prints one line ``CLOUDML_RESULT {json}`` that the adapter reads with
``jobs/runs/get-output``.  Never imported by the library itself.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

RESULT_MARKER = "CLOUDML_RESULT "


def _minutes(duration: Any) -> float:
    """AutoML reports a trial's duration as text such as ``'1.234 minutes'``."""
    found = re.search(r"[\d.]+", str(duration))
    return float(found.group()) if found else 0.0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True, help="table name or abfss:// Parquet folder")
    parser.add_argument("--primary-metric", required=True)
    parser.add_argument("--timeout-minutes", type=int, required=True)
    parser.add_argument("--experiment-dir", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--feature-spec", required=True, help="FeatureSpec as JSON")
    parser.add_argument(
        "--registry-uri", default="databricks", help="the workspace model registry (not UC)"
    )
    args = parser.parse_args(argv)

    import importlib

    import mlflow
    from pyspark.sql import SparkSession

    from cloudml_edu.training.features import FeatureSpec
    from cloudml_edu.training.pyfunc import log_model
    from cloudml_edu.training.tabular import FrameClassifier

    automl: Any = importlib.import_module("databricks.automl")  # closed source, on the cluster

    spark = SparkSession.builder.getOrCreate()
    if args.source.startswith("abfss://"):
        frame = spark.read.parquet(args.source)
    else:
        frame = spark.table(args.source)
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
    spec = FeatureSpec.from_dict(json.loads(args.feature_spec))
    model = FrameClassifier(mlflow.sklearn.load_model(best.model_path), columns)
    mlflow.set_registry_uri(args.registry_uri)
    with mlflow.start_run(experiment_id=summary.experiment.experiment_id, run_name="image-model"):
        uri = log_model(model, spec)
    version = mlflow.register_model(uri, args.model_name)
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
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
