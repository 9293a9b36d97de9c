"""The local designer backend: a fixed component graph, run step by step, every output kept.

The graph mirrors the Azure ML pipeline the cloud adapter submits (and Designer
shows): ``prepare -> split -> featurize -> train -> score -> evaluate``.  Each
component writes its outputs under ``<workspace>/runs/<run id>/<step>/`` and is
recorded with its parameters, inputs, outputs and timing: that is the pipeline's
transparency, the thing students compare.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu._progress import track
from cloudml_edu.backends.local.common import LOCAL_COMPUTE, LocalBackend
from cloudml_edu.backends.local.tracking import active_run
from cloudml_edu.records.plan import PlanStep
from cloudml_edu.records.run import RunRecord, StepRecord
from cloudml_edu.training.models import default_model

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.options import TrainOptions
    from cloudml_edu.workspace import Workspace

__all__ = ["COMPONENTS", "DesignerBackend"]


@dataclass(frozen=True)
class Component:
    """A pipeline component: what it does, what it reads and what it writes."""

    name: str
    description: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


COMPONENTS: tuple[Component, ...] = (
    Component(
        "prepare", "check every image and write the dataset manifest", ("dataset",), ("manifest",)
    ),
    Component("split", "stratified train/test split", ("manifest",), ("train", "test")),
    Component(
        "featurize",
        "resize, normalise, gradient histograms",
        ("train", "test"),
        ("train_features", "test_features"),
    ),
    Component("train", "fit the classifier", ("train_features",), ("model",)),
    Component("score", "predict the test images", ("model", "test_features"), ("scores",)),
    Component(
        "evaluate",
        "accuracy, precision, recall, F1, confusion matrix",
        ("scores", "test_features"),
        ("metrics",),
    ),
)


class DesignerBackend(LocalBackend):
    """Run the component graph locally, one step at a time.

    Trains the Designer's own modules (``Multiclass Decision Forest`` unless another
    model is asked for; see :data:`cloudml_edu.training.models.DESIGNER_ALGORITHMS`).
    """

    name = "designer"

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None:
        if "model" not in options.model_fields_set:
            options = options.model_copy(update={"model": default_model(self.name)})
        super().__init__(workspace, options, progress=progress)

    def plan_steps(self, dataset: Dataset) -> list[PlanStep]:
        params = self._params()
        return [
            PlanStep(
                name=c.name,
                action=c.description,
                detail={
                    "inputs": list(c.inputs),
                    "outputs": list(c.outputs),
                    "params": params.get(c.name, {}),
                },
            )
            for c in COMPONENTS
        ]

    def _params(self) -> dict[str, dict[str, Any]]:
        o = self.options
        return {
            "split": {"test_size": o.test_size, "seed": o.seed},
            "featurize": o.feature_spec().to_dict(),
            "train": {"family": o.model, **o.model_params()},
        }

    def start(self, run: RunRecord, dataset: Dataset) -> None:
        """Run the graph here and now: the run has ended when this returns."""
        from cloudml_edu.training.evaluate import evaluate, score
        from cloudml_edu.training.fit import Outcome, featurize_dataset, train_model

        o, params = self.options, self._params()
        spec = o.feature_spec()
        with active_run(self.workspace, run.id):
            workdir = self.workspace.runs_dir / run.id
            state: dict[str, Any] = {}

            def prepare() -> dict[str, Path]:
                state["dataset"] = dataset
                return {
                    "manifest": _write(
                        workdir / "prepare" / "manifest.json",
                        dataset.manifest.model_dump_json(indent=1),
                    )
                }

            def split() -> dict[str, Path]:
                train, test = dataset.split(test_size=o.test_size, seed=o.seed)
                state.update(train=train, test=test)
                return {
                    name: _write(
                        workdir / "split" / f"{name}.json",
                        json.dumps([r.path for r in part.records]),
                    )
                    for name, part in (("train", train), ("test", test))
                }

            def featurize() -> dict[str, Path]:
                out = {}
                for name in ("train", "test"):
                    state[f"{name}_features"] = featured = featurize_dataset(state[name], spec)
                    path = workdir / "featurize" / f"{name}_features.npz"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    featured.save(path)
                    out[f"{name}_features"] = path
                return out

            def train() -> dict[str, Path]:
                import joblib

                state["model"], state["seconds"] = train_model(
                    state["train_features"], family=o.model, params=o.model_params(), seed=o.seed
                )
                path = workdir / "train" / "model.joblib"
                path.parent.mkdir(parents=True, exist_ok=True)
                joblib.dump(state["model"], path)
                return {"model": path}

            def score_step() -> dict[str, Path]:
                test = state["test_features"]
                state["scores"] = scores = score(state["model"], test.features)
                rows = [
                    {"path": r.path, "label": t, "predicted": p}
                    for r, t, p in zip(test.records, test.labels, scores.predicted, strict=True)
                ]
                return {"scores": _write(workdir / "score" / "scores.json", json.dumps(rows))}

            def evaluate_step() -> dict[str, Path]:
                test = state["test_features"]
                metrics = evaluate(
                    test.labels,
                    state["scores"],
                    n_train=len(state["train_features"].labels),
                    train_seconds=state["seconds"],
                    compute=LOCAL_COMPUTE,
                )
                state["outcome"] = Outcome(
                    state["model"],
                    spec,
                    o.model,
                    o.model_params(),
                    metrics,
                    state["scores"],
                    test,
                    extra_params={"pipeline.steps": len(COMPONENTS)},
                )
                return {
                    "metrics": _write(workdir / "evaluate" / "metrics.json", metrics.artifact())
                }

            bodies: dict[str, Callable[[], dict[str, Path]]] = {
                "prepare": prepare,
                "split": split,
                "featurize": featurize,
                "train": train,
                "score": score_step,
                "evaluate": evaluate_step,
            }
            produced: dict[str, str] = {"dataset": dataset.source.location}
            with track(
                "designer pipeline", total=len(COMPONENTS), unit="steps", progress=self.progress
            ) as bar:
                for component in COMPONENTS:
                    bar.update(description=f"designer: {component.name}")
                    with self.failing_as(run, f"step {component.name!r}"):
                        started = time.perf_counter()
                        outputs = bodies[component.name]()
                    produced.update({k: str(v) for k, v in outputs.items()})
                    run.steps.append(
                        StepRecord(
                            name=component.name,
                            component=f"cloudml_edu.{component.name}",
                            seconds=round(time.perf_counter() - started, 4),
                            params=params.get(component.name, {}),
                            inputs={k: produced[k] for k in component.inputs},
                            outputs={k: str(v) for k, v in outputs.items()},
                        )
                    )
                    bar.advance()
            self.complete(run, state["outcome"], test_set=state["test"])


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
