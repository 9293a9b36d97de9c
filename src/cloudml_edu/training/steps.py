"""The designer pipeline's steps as a command line: ``python -m cloudml_edu.training.steps STEP ...``.

Each Azure ML component of the designer backend runs one of these, with its
inputs and outputs as folders; the steps are the local designer's
(``prepare -> split -> featurize -> train -> score -> evaluate``) built on the
same functions (:mod:`cloudml_edu.training.fit`, :mod:`~.evaluate`).  The
evaluate step logs metrics to its own MLflow run and saves the MLflow model to
its ``mlflow_model`` output (``--model-out``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.errors import CloudMLError

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.training.fit import Featurized

__all__ = ["STEPS", "main"]

STEPS = ("prepare", "split", "featurize", "train", "score", "evaluate")


def _dataset(folder: Path) -> Dataset:
    from cloudml_edu.training.__main__ import _load

    dataset: Dataset = _load(folder, None)
    return dataset


def _parts(dataset: Dataset, split: Path) -> dict[str, Dataset]:
    paths = json.loads((split / "split.json").read_text())
    by_path = {r.path: r for r in dataset.records}
    return {
        name: dataset.subset([by_path[p] for p in paths[name]], suffix=name)
        for name in ("train", "test")
    }


def _features(folder: Path, name: str, dataset: Dataset | None = None) -> Featurized:
    import numpy as np

    from cloudml_edu.training.fit import Featurized

    data = np.load(folder / f"{name}_features.npz")
    by_path = {r.path: r for r in dataset.records} if dataset is not None else {}
    records = [by_path[str(p)] for p in data["paths"]] if by_path else []
    return Featurized(data["X"], [str(y) for y in data["y"]], records)


def run_step(step: str, a: argparse.Namespace) -> None:
    """Run one step with its parsed arguments."""
    import joblib

    from cloudml_edu.training.evaluate import Scores, evaluate, score
    from cloudml_edu.training.features import FeatureSpec
    from cloudml_edu.training.fit import (
        Outcome,
        featurize_dataset,
        log_outcome,
        train_model,
        write_run_files,
    )

    out: Path = a.out
    out.mkdir(parents=True, exist_ok=True)
    spec = FeatureSpec(size=a.image_size, mode=a.color_mode, gradients=not a.no_gradients)
    if step == "prepare":
        (out / "manifest.json").write_text(_dataset(a.dataset).manifest.model_dump_json())
    elif step == "split":
        dataset = _dataset(a.dataset)
        train, test = dataset.split(test_size=a.test_size, seed=a.seed)
        paths = {"train": [r.path for r in train.records], "test": [r.path for r in test.records]}
        (out / "split.json").write_text(json.dumps(paths))
    elif step == "featurize":
        for name, part in _parts(_dataset(a.dataset), a.split).items():
            featurize_dataset(part, spec).save(out / f"{name}_features.npz")
    elif step == "train":
        model, seconds = train_model(
            _features(a.features, "train"),
            family=a.model_family,
            params=json.loads(a.params),
            seed=a.seed,
        )
        joblib.dump(model, out / "model.joblib")
        (out / "train.json").write_text(json.dumps({"seconds": seconds}))
    elif step == "score":
        scores = score(
            joblib.load(a.model / "model.joblib"), _features(a.features, "test").features
        )
        payload: dict[str, Any] = {
            "labels": scores.labels,
            "predicted": scores.predicted,
            "probabilities": scores.probabilities.tolist(),
        }
        (out / "scores.json").write_text(json.dumps(payload))
    else:
        import mlflow
        import numpy as np

        dataset = _dataset(a.dataset)
        parts = _parts(dataset, a.split)
        test_x = _features(a.features, "test", dataset)
        raw = json.loads((a.scores / "scores.json").read_text())
        scores = Scores(raw["labels"], raw["predicted"], np.asarray(raw["probabilities"]))
        seconds = json.loads((a.model / "train.json").read_text())["seconds"]
        metrics = evaluate(
            test_x.labels, scores, n_train=len(parts["train"]), train_seconds=seconds
        )
        model = joblib.load(a.model / "model.joblib")
        params = json.loads(a.params)
        outcome = Outcome(model, spec, a.model_family, params, metrics, scores, test_x)
        outcome.extra_params["pipeline.steps"] = len(STEPS)
        with mlflow.start_run():
            log_outcome(outcome, test_set=parts["test"], model_dir=a.model_out)
        write_run_files(outcome, out, test_set=parts["test"])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cloudml_edu.training.steps")
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model-out", type=Path, help="evaluate: save the MLflow model here")
    for name in ("dataset", "split", "features", "model", "scores"):
        parser.add_argument(f"--{name}", type=Path)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--color-mode", choices=["L", "RGB"], default="L")
    parser.add_argument("--no-gradients", action="store_true")
    parser.add_argument("--model-family", default="svc")
    parser.add_argument("--params", default="{}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        run_step(args.step, args)
    except CloudMLError as exc:
        print(f"error in step {args.step}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
