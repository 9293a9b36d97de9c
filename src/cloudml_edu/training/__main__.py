"""The training job: ``python -m cloudml_edu.training --data DIR [options]``.

This is what the ``sdk`` backend runs as a command job, locally in a subprocess
and (later) on Azure ML.  ``DIR`` is either a dataset version folder
(``_manifest.json`` + ``files/``, as uploaded by cloudml-edu) or an ImageFolder.
Tracking goes to ``MLFLOW_TRACKING_URI``; an existing run is resumed through
``MLFLOW_RUN_ID`` (the parent creates it, as Azure ML names the run after the job).
Exit code 0 on success, 2 for bad input, 1 for any other failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cloudml_edu.errors import CloudMLError, DatasetError
from cloudml_edu.manifest import MANIFEST_NAME, Manifest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cloudml_edu.training", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data", required=True, type=Path, help="dataset version folder or ImageFolder"
    )
    parser.add_argument(
        "--manifest", type=Path, help="use this manifest instead of DIR/_manifest.json"
    )
    parser.add_argument("--model", default="svc", help="model family")
    parser.add_argument("--params", default="{}", help="hyperparameters as JSON")
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--color-mode", choices=["L", "RGB"], default="L")
    parser.add_argument("--no-gradients", action="store_true")
    parser.add_argument("--no-model", action="store_true", help="skip logging the MLflow model")
    parser.add_argument(
        "--model-out", type=Path, help="save the MLflow model in this folder (a job output)"
    )
    parser.add_argument(
        "--metrics-out",
        type=Path,
        help="write metrics.json, predictions, test features and misclassified images here (a job"
        " output)",
    )
    return parser


def _load(data: Path, manifest_file: Path | None):  # type: ignore[no-untyped-def]
    from cloudml_edu.datasets import Dataset

    manifest_file = manifest_file or data / MANIFEST_NAME
    if manifest_file.is_file():
        manifest = Manifest.model_validate_json(manifest_file.read_text())
        files = data / "files" if (data / "files").is_dir() else data
        return Dataset.from_manifest(manifest, files)
    return Dataset.from_folder(data, progress=False)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from cloudml_edu.training.features import FeatureSpec
    from cloudml_edu.training.fit import (
        featurize_dataset,
        fit_model,
        log_outcome,
        write_run_files,
    )

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    try:
        params = json.loads(args.params)
        dataset = _load(args.data, args.manifest)
        say(f"dataset {dataset.name}: {len(dataset)} images, {len(dataset.classes)} classes")
        train, test = dataset.split(test_size=args.test_size, seed=args.seed)
        spec = FeatureSpec(
            size=args.image_size, mode=args.color_mode, gradients=not args.no_gradients
        )
        train_x, test_x = featurize_dataset(train, spec), featurize_dataset(test, spec)
        say(f"features: {train_x.features.shape[1]} per image; training {args.model} {params}")
        import mlflow

        with mlflow.start_run():
            outcome = fit_model(
                train_x, test_x, spec=spec, family=args.model, params=params, seed=args.seed
            )
            say(f"accuracy {outcome.metrics.accuracy:.4f} in {outcome.metrics.train_seconds:.2f} s")
            log_outcome(
                outcome, test_set=test, log_model=not args.no_model, model_dir=args.model_out
            )
        if args.metrics_out is not None:  # read back by the library: the report's files
            write_run_files(outcome, args.metrics_out, test_set=test)
        say("done")
        return 0
    except (DatasetError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CloudMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
