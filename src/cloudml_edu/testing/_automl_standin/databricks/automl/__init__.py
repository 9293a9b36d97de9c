"""A stand-in for ``databricks.automl`` (closed source, on Databricks Runtime ML clusters only).

Installed into the Databricks twin only (on its ``PYTHONPATH``, beside the
runtime's ``databricks-automl-runtime``); never imported by cloudml-edu itself.
It does what ``databricks.automl.classify`` does, at a smaller scale: checks its
arguments as AutoML does, runs real trials of several model families
(scikit-learn and LightGBM, as AutoML's generated notebooks build them: a
``databricks.automl_runtime`` ``ColumnSelector`` then a scaler then the
classifier), logs each trial as an MLflow run with AutoML's metric names
(``training_``/``val_``/``test_`` + ``accuracy_score``, ``f1_score``,
``precision_score``, ``recall_score`` weighted, ``log_loss``, ``roc_auc``) and
its model with exact requirements, and returns an :class:`AutoMLSummary` with
``experiment``, ``trials`` (best first) and ``best_trial``.  Unlike AutoML it
stops when its small search space is done instead of using the whole budget.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

__all__ = ["AutoMLSummary", "TrialInfo", "classify"]

_METRICS = {  # primary_metric -> (AutoML's validation metric, higher is better)
    "f1": ("val_f1_score", True),
    "accuracy": ("val_accuracy_score", True),
    "precision": ("val_precision_score", True),
    "recall": ("val_recall_score", True),
    "log_loss": ("val_log_loss", False),
    "roc_auc": ("val_roc_auc", True),
}
_FRAMEWORKS = ("sklearn", "lightgbm", "xgboost")
_SPLITS = {"train", "validate", "test"}
#: What AutoML's trial models need at inference (the twin has xgboost's family excluded).
_MODEL_PACKAGES = (
    "mlflow",
    "databricks-automl-runtime",
    "category-encoders",
    "holidays",
    "wrapt",
    "scikit-learn",
    "pandas",
    "numpy",
    "cloudpickle",
)


@dataclass
class TrialInfo:
    """One trial, as AutoML reports it."""

    mlflow_run_id: str
    model_path: str
    model_description: str
    duration: str
    evaluation_metric_score: float
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    notebook_path: str | None = None
    notebook_url: str | None = None

    def load_model(self) -> Any:
        import mlflow

        return mlflow.sklearn.load_model(self.model_path)


@dataclass
class AutoMLSummary:
    """What ``classify`` returns: the experiment, the trials (best first) and the best one."""

    experiment: Any
    trials: list[TrialInfo]
    output_table_name: str | None = None

    @property
    def best_trial(self) -> TrialInfo:
        return self.trials[0]


def _candidates(frameworks: list[str], seed: int) -> list[tuple[str, Any]]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    found: list[tuple[str, Any]] = []
    if "sklearn" in frameworks:
        found += [
            ("sklearn", LogisticRegression(C=c, max_iter=1000, random_state=seed))
            for c in (0.1, 1.0)
        ]
        found += [
            ("sklearn", RandomForestClassifier(n_estimators=n, max_depth=8, random_state=seed))
            for n in (50,)
        ]
    if "lightgbm" in frameworks:
        from lightgbm import LGBMClassifier

        found += [
            (
                "lightgbm",
                LGBMClassifier(
                    n_estimators=n,
                    num_leaves=15,
                    min_child_samples=2,
                    learning_rate=0.1,
                    random_state=seed,
                    verbose=-1,
                ),
            )
            for n in (50,)
        ]
    return found


def _metrics(model: Any, x: Any, y: Any, prefix: str) -> dict[str, float]:
    """The metrics MLflow's default classifier evaluator logs, under AutoML's prefixes."""
    import numpy as np
    from sklearn import metrics

    predicted = model.predict(x)
    proba = model.predict_proba(x)
    classes = list(model.classes_)
    found = {
        "accuracy_score": metrics.accuracy_score(y, predicted),
        "f1_score": metrics.f1_score(y, predicted, average="weighted", zero_division=0),
        "precision_score": metrics.precision_score(
            y, predicted, average="weighted", zero_division=0
        ),
        "recall_score": metrics.recall_score(y, predicted, average="weighted", zero_division=0),
        "log_loss": metrics.log_loss(y, proba, labels=classes),
    }
    try:
        if len(classes) == 2:
            found["roc_auc"] = metrics.roc_auc_score(y, proba[:, 1])
        else:
            found["roc_auc"] = metrics.roc_auc_score(
                y, proba, multi_class="ovr", average="weighted", labels=classes
            )
    except ValueError:  # a class missing from this split
        pass
    found["score"] = found["accuracy_score"]
    return {prefix + k: float(np.round(v, 6)) for k, v in found.items()}


def _requirements(framework: str) -> list[str]:
    names = [*_MODEL_PACKAGES, *(["lightgbm"] if framework == "lightgbm" else [])]
    return [f"{name}=={version(name)}" for name in names]


def _check(
    frame: Any,
    target_col: str,
    primary_metric: str,
    timeout_minutes: int | None,
    split_col: str | None,
    exclude_frameworks: list[str],
) -> None:
    if primary_metric not in _METRICS:
        raise ValueError(
            f"Invalid primary_metric {primary_metric!r}; supported: {', '.join(_METRICS)}"
        )
    if timeout_minutes is not None and timeout_minutes < 5:
        raise ValueError(f"timeout_minutes must be at least 5, got {timeout_minutes}")
    unknown = set(exclude_frameworks) - set(_FRAMEWORKS)
    if unknown:
        raise ValueError(f"Unsupported frameworks in exclude_frameworks: {sorted(unknown)}")
    if target_col not in frame.columns:
        raise ValueError(f"target_col {target_col!r} is not a column of the dataset")
    if frame[target_col].nunique() < 2:
        raise ValueError(f"target_col {target_col!r} has fewer than 2 classes")
    if split_col is not None:
        values = set(frame[split_col].unique())
        if not values <= _SPLITS or "train" not in values:
            raise ValueError(
                f"split_col {split_col!r} must hold 'train', 'validate' and 'test', got {sorted(values)}"
            )


def classify(
    dataset: Any,
    *,
    target_col: str,
    primary_metric: str = "f1",
    timeout_minutes: int | None = None,
    split_col: str | None = None,
    experiment_dir: str | None = None,
    experiment_name: str | None = None,
    exclude_cols: list[str] | None = None,
    exclude_frameworks: list[str] | None = None,
    pos_label: Any = None,
    max_trials: int | None = None,
    **unsupported: Any,
) -> AutoMLSummary:
    """Train and log classification trials on ``dataset`` (a Spark or pandas DataFrame)."""
    import mlflow
    import pandas as pd
    from databricks.automl_runtime.sklearn.column_selector import ColumnSelector
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    mode = os.environ.get("CLOUDML_TWIN_ACCESS_MODE", "SINGLE_USER")  # the fake cluster's
    if mode not in ("SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED", "LEGACY_SINGLE_USER"):
        raise RuntimeError(
            f"AutoML runs only on clusters in dedicated (single user) access mode, not {mode}"
        )
    if unsupported:
        raise TypeError(f"classify() got unexpected keyword arguments {sorted(unsupported)}")
    if max_trials is not None:
        raise ValueError("max_trials is not supported on Databricks Runtime 11.0 ML and above")
    frame = dataset.toPandas() if hasattr(dataset, "toPandas") else pd.DataFrame(dataset)
    excluded = [*(exclude_frameworks or []), "xgboost"]  # xgboost: not in the twin
    _check(frame, target_col, primary_metric, timeout_minutes, split_col, excluded)
    dropped = {target_col, *(exclude_cols or []), *([split_col] if split_col else [])}
    columns = [c for c in frame.columns if c not in dropped]
    frame[target_col] = frame[target_col].astype(str)
    if split_col is not None:
        parts = {name: part for name, part in frame.groupby(split_col)}
        train, valid, test = (parts.get(n, frame.iloc[:0]) for n in ("train", "validate", "test"))
    else:  # AutoML's default: 60/20/20, stratified
        train, rest = train_test_split(frame, test_size=0.4, random_state=0)
        valid, test = train_test_split(rest, test_size=0.5, random_state=0)
    stamp = time.strftime("%Y-%m-%d_%H:%M:%S")
    name = experiment_name or f"{experiment_dir or '/Users/automl'}/{target_col}_{stamp}"
    metric, higher = _METRICS[primary_metric]
    experiment_id = mlflow.create_experiment(
        name,
        tags={
            "_databricks_automl": "True",
            "_databricks_automl.problem_type": "classification",
            "_databricks_automl.target_col": target_col,
            "_databricks_automl.evaluation_metric": metric,
            "_databricks_automl.evaluation_metric_order": "DESC" if higher else "ASC",
            "_databricks_automl.state": "RUNNING",
        },
    )
    budget = (timeout_minutes or 120) * 60.0
    started = time.monotonic()
    frameworks = [f for f in _FRAMEWORKS if f not in excluded]
    trials: list[TrialInfo] = []
    for framework, estimator in _candidates(frameworks, seed=0):
        if time.monotonic() - started > budget:
            break
        model = Pipeline(
            [
                ("column_selector", ColumnSelector(columns)),
                ("standardizer", StandardScaler()),
                ("classifier", estimator),
            ]
        )
        with mlflow.start_run(experiment_id=experiment_id) as run:
            began = time.monotonic()
            mlflow.set_tag("estimator_name", type(estimator).__name__)
            params = {k: v for k, v in estimator.get_params().items() if v is not None}
            mlflow.log_params({f"classifier__{k}": v for k, v in params.items()})
            model.fit(train[columns], train[target_col])
            found: dict[str, float] = {}
            for prefix, part in (("training_", train), ("val_", valid), ("test_", test)):
                if len(part):
                    found.update(_metrics(model, part[columns], part[target_col], prefix))
            mlflow.log_metrics(found)
            mlflow.sklearn.log_model(
                model,
                "model",
                input_example=train[columns].head(3),
                pip_requirements=_requirements(framework),
            )
            minutes = (time.monotonic() - began) / 60
        trials.append(
            TrialInfo(
                mlflow_run_id=run.info.run_id,
                model_path=f"runs:/{run.info.run_id}/model",
                model_description=repr(estimator).replace("\n", ""),
                duration=f"{minutes:.3f} minutes",
                evaluation_metric_score=found.get(metric, float("nan")),
                metrics=found,
                params=params,
            )
        )
    client = mlflow.MlflowClient()
    if not trials:
        client.set_experiment_tag(experiment_id, "_databricks_automl.state", "FAILED")
        raise RuntimeError("AutoML could not train any model within timeout_minutes")
    trials.sort(key=lambda t: t.evaluation_metric_score, reverse=higher)
    client.set_experiment_tag(experiment_id, "_databricks_automl.state", "SUCCESS")
    client.set_experiment_tag(
        experiment_id, "_databricks_automl.best_trial_run_id", trials[0].mlflow_run_id
    )
    return AutoMLSummary(experiment=client.get_experiment(experiment_id), trials=trials)
