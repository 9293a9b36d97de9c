"""The local automl backend: a timed trial search over model families and hyperparameters.

Like Databricks AutoML: the training split is split again into train and
validation; every trial (a family and a point of its search space) is an MLflow
child run scored on validation; the best trial by ``primary_metric`` is then
evaluated once on the held-out test split.  The search stops at ``max_trials``
or ``timeout_minutes``, whichever comes first.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, get_args

from cloudml_edu._progress import track
from cloudml_edu.backends.local.common import LOCAL_COMPUTE, LocalBackend
from cloudml_edu.backends.local.tracking import active_run, child_run
from cloudml_edu.errors import BackendError, ConfigError
from cloudml_edu.options import PrimaryMetric
from cloudml_edu.records.metrics import lower_is_better
from cloudml_edu.records.plan import PlanStep
from cloudml_edu.records.run import RunRecord, TrialRecord

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.training.fit import Featurized, Outcome

__all__ = ["AutoMLBackend", "trial_configs"]

log = logging.getLogger(__name__)

VALIDATION_SIZE = 0.2


def trial_configs(
    families: list[str], *, max_trials: int, seed: int
) -> list[tuple[str, dict[str, Any]]]:
    """The trials to try, in order: each family's defaults first, then random points."""
    from cloudml_edu.training.models import FAMILIES, sample_params

    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"unknown model families {unknown}; choose from: {', '.join(FAMILIES)}")
    rng = random.Random(seed)
    configs: list[tuple[str, dict[str, Any]]] = [(f, {}) for f in families]
    seen = {(f, "{}") for f in families}
    attempts = 0
    while len(configs) < max_trials and attempts < max_trials * 20:
        attempts += 1
        family = rng.choice(families)
        params = sample_params(family, rng)
        key = (family, repr(sorted(params.items())))
        if key not in seen:
            seen.add(key)
            configs.append((family, params))
    return configs[:max_trials]


class AutoMLBackend(LocalBackend):
    """Try model families and hyperparameters within a time budget; keep the best."""

    name = "automl"

    def _families(self) -> list[str]:
        from cloudml_edu.training.models import FAMILIES

        return list(self.options.families or FAMILIES)

    def estimated_minutes(self, dataset: Dataset) -> float:
        return self.options.timeout_minutes

    def plan_steps(self, dataset: Dataset) -> list[PlanStep]:
        o = self.options
        configs = trial_configs(self._families(), max_trials=o.max_trials, seed=o.seed)
        return [
            PlanStep(
                name="featurize",
                action="turn images into a feature table",
                detail=o.feature_spec().to_dict(),
            ),
            PlanStep(
                name="search",
                action=f"up to {o.max_trials} trials in {o.timeout_minutes} min, best by {o.primary_metric}",
                detail={"trials": [{"family": f, "params": p} for f, p in configs]},
            ),
            PlanStep(name="evaluate", action="evaluate the best trial on the test split"),
        ]

    def start(self, run: RunRecord, dataset: Dataset) -> None:
        """Search here and now: the run has ended when this returns."""
        from cloudml_edu.training.fit import featurize_dataset

        o = self.options
        spec = o.feature_spec()
        with active_run(self.workspace, run.id):
            with self.failing_as(run, "featurize"):
                train, test = dataset.split(test_size=o.test_size, seed=o.seed)
                inner, valid = train.split(test_size=VALIDATION_SIZE, seed=o.seed)
                inner_x, valid_x = featurize_dataset(inner, spec), featurize_dataset(valid, spec)
                test_x = featurize_dataset(test, spec)
            best = self._search(run, dataset, inner_x, valid_x)
            with self.failing_as(run, "evaluate best trial"):
                outcome = self._evaluate_best(best, inner_x, test_x)
            self.complete(run, outcome, test_set=test)

    def _search(
        self, run: RunRecord, dataset: Dataset, inner: Featurized, valid: Featurized
    ) -> Outcome:

        o = self.options
        configs = trial_configs(self._families(), max_trials=o.max_trials, seed=o.seed)
        deadline = time.monotonic() + o.timeout_minutes * 60
        best: Outcome | None = None
        best_score: float | None = None
        with track(
            "automl trials", total=len(configs), unit="trials", progress=self.progress
        ) as bar:
            for number, (family, params) in enumerate(configs, 1):
                if time.monotonic() > deadline:
                    log.info("automl: time budget reached after %d trials", number - 1)
                    break
                params = params or self._defaults(family)
                bar.update(description=f"automl: trial {number} {family}")
                started = time.perf_counter()
                with child_run(
                    self.workspace,
                    experiment=o.experiment,
                    backend=self.name,
                    dataset=dataset.name,
                    run_name=f"trial-{number:03d}-{family}",
                ) as child:
                    import mlflow

                    mlflow.log_params({"family": family, **params})
                    trial = TrialRecord(
                        number=number,
                        family=family,
                        params=params,
                        score=None,
                        seconds=0.0,
                        run_id=child.info.run_id,
                    )
                    outcome = self._run_trial(trial, inner, valid)
                trial.seconds = round(time.perf_counter() - started, 3)
                run.trials.append(trial)
                if (
                    outcome is not None
                    and trial.score is not None
                    and (best_score is None or _better(trial.score, best_score, o.primary_metric))
                ):
                    best, best_score = outcome, trial.score
                bar.advance()
        if best is None:
            run.status, run.ended = "Failed", datetime.now(UTC)
            run.error = "every trial failed"
            self.save(run)
            errors = "; ".join(f"{t.family}: {t.error}" for t in run.trials[:3])
            raise BackendError(
                f"automl run {run.id}: every trial failed ({errors}); check the data and families"
            )
        return best

    def _run_trial(
        self, trial: TrialRecord, inner: Featurized, valid: Featurized
    ) -> Outcome | None:
        """Fit one trial inside its active child run; a failure is recorded, not raised."""
        import mlflow

        from cloudml_edu.training.fit import fit_model

        o = self.options
        try:
            outcome = fit_model(
                inner,
                valid,
                spec=o.feature_spec(),
                family=trial.family,
                params=trial.params,
                seed=o.seed,
            )
        except Exception as exc:  # a failing trial is recorded, the search goes on
            trial.status, trial.error = "Failed", str(exc)[:500]
            mlflow.set_tag("cloudml.error", trial.error)
            return None
        trial.score = _metric(outcome, o.primary_metric)
        mlflow.log_metrics(
            {
                f"val_{k}": v
                for k, v in outcome.metrics.to_mlflow().items()
                if k in get_args(PrimaryMetric)
            }
        )
        return outcome

    @staticmethod
    def _defaults(family: str) -> dict[str, Any]:
        from cloudml_edu.training.models import DEFAULT_FAMILY, DEFAULT_PARAMS

        return dict(DEFAULT_PARAMS) if family == DEFAULT_FAMILY else {}

    def _evaluate_best(self, best: Outcome, inner: Featurized, test: Featurized) -> Outcome:
        from cloudml_edu.training.evaluate import evaluate, score

        o = self.options
        scores = score(best.model, test.features)
        metrics = evaluate(
            test.labels,
            scores,
            n_train=len(inner.labels),
            train_seconds=best.metrics.train_seconds,
            compute=LOCAL_COMPUTE,
        )
        best.extra_params = {
            "automl.trials": o.max_trials,
            "automl.primary_metric": o.primary_metric,
        }
        best.metrics, best.scores, best.test = metrics, scores, test
        return best


def _metric(outcome: Outcome, name: str) -> float:
    value = getattr(outcome.metrics, name)
    return float(value) if value is not None else float("nan")


def _better(value: float, than: float, metric: str) -> bool:
    return value < than if lower_is_better(metric) else value > than
