"""Export runs as a Power BI star schema: Parquet (and CSV) files, locally or to the store.

``export_powerbi(runs, "powerbi/")`` writes one file per table of
:data:`~cloudml_edu.report.powerbi.schema.TABLES`.  Power BI Desktop loads the
folder (Get data > Parquet, or Azure Blob Storage when written to the
workspace store); docs/powerbi.md walks through it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cloudml_edu._paths import ensure_dir, user_paths
from cloudml_edu.errors import ConfigError, NotFoundError
from cloudml_edu.metrics import lower_is_better
from cloudml_edu.report.comparison import compare, model_family
from cloudml_edu.report.powerbi.features import (
    DatasetFinder,
    dataset_finder,
    feature_rows,
    image_ref,
)
from cloudml_edu.report.powerbi.schema import ALL_LABELS, RELATIONSHIPS, TABLES, ColumnType

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.storage.base import Store
    from cloudml_edu.workspace import Workspace

__all__ = [
    "METRICS",
    "FeatureLoader",
    "PredictionLoader",
    "StarSchema",
    "build_star_schema",
    "export_powerbi",
    "load_endpoints",
]

log = logging.getLogger(__name__)

Format = Literal["parquet", "csv"]
#: Reads a run's test predictions (``label``, ``predicted``, ``score``, ``path`` columns).
PredictionLoader = Callable[["TrainingRun"], pd.DataFrame]
#: Reads a run's test features (``X``, ``y``, ``predicted``, ``paths`` arrays: ``features.npz``).
FeatureLoader = Callable[["TrainingRun"], Mapping[str, np.ndarray]]

#: Metrics of ``fact_metric``: name -> (description, per class); which way is better comes
#: from :func:`cloudml_edu.metrics.lower_is_better`, except for counts, where neither is.
COUNTS = frozenset({"support"})
METRICS: dict[str, tuple[str, bool]] = {
    "accuracy": ("share of test images classified correctly", False),
    "precision_macro": ("precision averaged over classes", False),
    "recall_macro": ("recall averaged over classes", False),
    "f1_macro": ("F1 averaged over classes", False),
    "precision_weighted": ("precision averaged by class support", False),
    "recall_weighted": ("recall averaged by class support", False),
    "f1_weighted": ("F1 averaged by class support", False),
    "log_loss": ("cross-entropy of the predicted probabilities", False),
    "train_seconds": ("seconds spent fitting the model", False),
    "wall_seconds": ("seconds from start to end of the run", False),
    "node_hours": ("compute node-hours used", False),
    "cost_usd": ("estimated compute cost in USD", False),
    "precision": ("precision of one class", True),
    "recall": ("recall of one class", True),
    "f1": ("F1 of one class", True),
    "support": ("test images of one class (a count, not a score)", True),
}

_PANDAS_TYPES: dict[ColumnType, str] = {
    "int": "Int64",
    "float": "float64",
    "string": "string",
    "bool": "boolean",
    "datetime": "datetime64[us, UTC]",
    "date": "datetime64[us]",
}


@dataclass
class StarSchema:
    """The tables of the export, as pandas DataFrames typed after :data:`TABLES`."""

    tables: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def dangling_keys(self) -> list[str]:
        """Foreign keys that do not resolve to their dimension (empty when the schema is sound)."""
        problems = []
        for table, column, dim, key in RELATIONSHIPS:
            values = self.tables[table][column].dropna()
            missing = set(values) - set(self.tables[dim][key])
            if missing:
                problems.append(f"{table}.{column} -> {dim}.{key}: {sorted(missing)[:5]}")
        return problems

    def write(
        self, out: str | os.PathLike[str], *, formats: Sequence[Format] = ("parquet", "csv")
    ) -> list[Path]:
        """Write ``<table>.parquet`` / ``<table>.csv`` under ``out``; returns the files."""
        unknown = sorted(set(formats) - {"parquet", "csv"})
        if unknown:
            raise ConfigError(f"unknown export format {unknown[0]!r}; use parquet or csv")
        folder = ensure_dir(out, what="Power BI export folder")
        written = []
        with user_paths(folder, what="Power BI export folder"):
            for name, frame in self.tables.items():
                for fmt in formats:
                    path = folder / f"{name}.{fmt}"
                    if fmt == "parquet":
                        frame.to_parquet(path, index=False, engine="pyarrow")
                    else:
                        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
                    written.append(path)
        return written

    def upload(
        self,
        store: Store,
        *,
        prefix: str = "powerbi",
        formats: Sequence[Format] = ("parquet", "csv"),
    ) -> list[str]:
        """Write the files to ``store`` under ``prefix/`` (the workspace's blob container)."""
        keys = []
        with tempfile.TemporaryDirectory(prefix="cloudml-powerbi-") as tmp:
            for path in self.write(tmp, formats=formats):
                key = f"{prefix.strip('/')}/{path.name}"
                store.put_file(key, path, md5=_md5(path))
                keys.append(key)
        return keys


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _frame(name: str, rows: Any) -> pd.DataFrame:
    """A DataFrame with exactly the columns and types of table ``name`` (empty rows allowed)."""
    columns = TABLES[name]
    frame = pd.DataFrame(rows, columns=list(columns))
    for column, kind in columns.items():
        if kind == "datetime":  # every moment in UTC, marked as such in Parquet and CSV
            frame[column] = pd.to_datetime(frame[column], utc=True)
        frame[column] = frame[column].astype(_PANDAS_TYPES[kind])  # type: ignore[call-overload]
    return frame


def _date_key(moment: datetime) -> int:
    day = moment.astimezone(UTC)
    return day.year * 10000 + day.month * 100 + day.day


def _dim_date(keys: Iterable[int]) -> pd.DataFrame:
    rows = []
    for key in sorted(set(keys)):
        day = datetime(key // 10000, key // 100 % 100, key % 100)
        rows.append(
            (
                key,
                day,
                day.year,
                (day.month - 1) // 3 + 1,
                day.month,
                day.strftime("%B"),
                day.day,
                day.strftime("%A"),
            )
        )
    return _frame("dim_date", rows)


def load_endpoints(workspace: Workspace) -> list[dict[str, Any]]:
    """The endpoint registry of ``workspace`` (one JSON record per endpoint)."""
    records = []
    for path in sorted(workspace.endpoints_dir.glob("*.json")):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable endpoint record %s: %s", path, exc)
    return records


def _loaders_from_mlflow(folder: Path) -> tuple[PredictionLoader, FeatureLoader]:
    """Both loaders over one download per run of its artifacts into ``folder``."""
    from cloudml_edu.report._artifacts import RunFiles

    files: dict[str, RunFiles] = {}

    def of(run: TrainingRun) -> RunFiles:
        return files.setdefault(run.id, RunFiles(run, folder / run.id))

    return (lambda run: of(run).predictions()), (lambda run: of(run).features())


def build_star_schema(
    runs: Iterable[TrainingRun],
    *,
    endpoints: Sequence[Mapping[str, Any]] = (),
    prices: Mapping[str, float] | None = None,
    predictions: PredictionLoader | None = None,
    features: FeatureLoader | None = None,
    find_dataset: DatasetFinder | None = None,
    artifacts: bool = True,
) -> StarSchema:
    """Build every table for ``runs`` (any backends and owners) and ``endpoints`` records.

    ``predictions`` and ``features`` read a run's test predictions and features
    (default: its ``predictions.csv`` and ``features.npz`` artifacts); ``find_dataset``
    finds the dataset version a run trained on, for image references and pixel
    statistics (see :mod:`.features`; ``export_powerbi`` uses the workspace store).
    ``artifacts=False`` skips counting MLflow artifacts in ``dim_run``.
    """
    chosen = list({run.id: run for run in runs}.values())  # a run passed twice counts once
    with tempfile.TemporaryDirectory(prefix="cloudml-powerbi-") as tmp:
        default_predictions, default_features = _loaders_from_mlflow(Path(tmp))
        return _build(
            chosen,
            endpoints,
            prices,
            predictions or default_predictions,
            features or default_features,
            find_dataset,
            artifacts,
        )


def _build(
    runs: list[TrainingRun],
    endpoints: Sequence[Mapping[str, Any]],
    prices: Mapping[str, float] | None,
    load_predictions: PredictionLoader,
    load_features: FeatureLoader,
    find_dataset: DatasetFinder | None,
    artifacts: bool,
) -> StarSchema:
    notes: list[str] = []
    comparison = compare(runs, prices=prices, artifacts=artifacts)
    run_key = {run.id: k for k, run in enumerate(runs, 1)}
    dataset_key = {name: k for k, name in enumerate(dict.fromkeys(r.dataset for r in runs), 1)}
    predicted: dict[str, pd.DataFrame] = {}
    for run in runs:
        if run.metrics is None:  # failed before evaluating: nothing was predicted
            continue
        try:
            predicted[run.id] = load_predictions(run)
        except NotFoundError as exc:
            notes.append(str(exc))
    datasets = _find_datasets(runs, predicted, find_dataset, notes)
    image_features = _image_features(runs, datasets, load_features, notes)
    labels = sorted(
        {label for r in runs if r.metrics for label in r.metrics.labels}
        | {
            str(v)
            for frame in [*predicted.values(), image_features]
            for col in ("label", "predicted")
            if col in frame
            for v in frame[col].unique()
        }
    )
    label_key = {label: k for k, label in enumerate(labels, 1)}
    label_key[ALL_LABELS] = 0
    dates = [_date_key(r.started) for r in runs]

    def keys(run: TrainingRun) -> tuple[int, int, int, int]:
        k = run_key[run.id]
        return k, k, dataset_key[run.dataset], _date_key(run.started)

    tables: dict[str, pd.DataFrame] = {
        "dim_run": _frame(
            "dim_run",
            [
                (
                    run_key[row.run_id],
                    row.run_id,
                    row.owner,
                    row.dataset,
                    row.backend,
                    row.target,
                    row.status,
                    row.started,
                    run.ended,
                    row.wall_seconds,
                    row.compute_sku,
                    row.node_hours,
                    row.cost_usd,
                    row.inspectable_steps,
                    row.user_code_lines,
                    row.deployment_steps,
                    row.artifacts,
                )
                for run, row in zip(runs, comparison.rows, strict=True)
            ],
        ),
        "dim_model": _frame(
            "dim_model", [(run_key[r.id], r.model or "", model_family(r), r.backend) for r in runs]
        ),
        "dim_dataset": _frame(
            "dim_dataset",
            [
                (
                    key,
                    name,
                    max(
                        (len(r.metrics.labels) for r in runs if r.dataset == name and r.metrics),
                        default=0,
                    ),
                )
                for name, key in dataset_key.items()
            ],
        ),
        "dim_label": _frame("dim_label", sorted(((k, label) for label, k in label_key.items()))),
        "dim_predicted_label": _frame("dim_predicted_label", [(label_key[x], x) for x in labels]),
        "dim_metric": _frame(
            "dim_metric",
            [
                (k, name, description, _direction(name), _higher(name), per_class)
                for k, (name, (description, per_class)) in enumerate(METRICS.items(), 1)
            ],
        ),
    }
    metric_key = dict(
        zip(tables["dim_metric"]["metric"], tables["dim_metric"]["metric_key"], strict=True)
    )
    tables["fact_metric"] = _fact_metric(runs, comparison.rows, keys, metric_key, label_key)
    tables["fact_confusion"] = _fact_confusion(runs, keys, label_key)
    versions = {run_id: d.manifest.version for run_id, d in datasets.items() if d is not None}
    tables["fact_prediction"] = _fact_prediction(runs, predicted, keys, label_key, versions)
    tables["fact_image_feature"] = _fact_image_feature(runs, image_features, keys, label_key)
    endpoint_rows = []
    for k, record in enumerate(endpoints, 1):
        created = pd.Timestamp(record.get("created") or datetime.now(UTC)).to_pydatetime()
        dates.append(_date_key(created))
        endpoint_rows.append(
            (
                k,
                record.get("name", ""),
                record.get("model_uri", ""),
                record.get("url", ""),
                created,
                run_key.get(str(record.get("run_id"))),
                _date_key(created),
            )
        )
    tables["dim_endpoint"] = _frame("dim_endpoint", endpoint_rows)
    tables["dim_date"] = _dim_date(dates)
    return StarSchema({name: tables[name] for name in TABLES}, notes)


def _fact_metric(
    runs: list[TrainingRun],
    rows: Sequence[Any],
    keys: Callable[[TrainingRun], tuple[int, int, int, int]],
    metric_key: Mapping[str, int],
    label_key: Mapping[str, int],
) -> pd.DataFrame:
    facts = []
    for run, row in zip(runs, rows, strict=True):
        m = run.metrics
        if m is None:
            continue
        overall = {name: getattr(m, name, None) for name, (_, per) in METRICS.items() if not per}
        overall.update(
            wall_seconds=row.wall_seconds, node_hours=row.node_hours, cost_usd=row.cost_usd
        )
        facts += [
            (*keys(run), metric_key[n], 0, float(v)) for n, v in overall.items() if v is not None
        ]
        for label, report in m.per_class.items():
            for name in ("precision", "recall", "f1", "support"):
                facts.append(
                    (*keys(run), metric_key[name], label_key[label], float(getattr(report, name)))
                )
    return _frame("fact_metric", facts)


def _fact_confusion(
    runs: list[TrainingRun],
    keys: Callable[[TrainingRun], tuple[int, int, int, int]],
    label_key: Mapping[str, int],
) -> pd.DataFrame:
    facts = []
    for run in runs:
        m = run.metrics
        if m is None:
            continue
        for i, truth in enumerate(m.labels):
            for j, guess in enumerate(m.labels):
                facts.append(
                    (*keys(run), label_key[truth], label_key[guess], m.confusion_matrix[i][j])
                )
    return _frame("fact_confusion", facts)


Direction = Literal["higher", "lower", "neither"]


def _direction(metric: str) -> Direction:
    """Which way is better: from :func:`lower_is_better`; a count (``support``) has none."""
    if metric in COUNTS:
        return "neither"
    return "lower" if lower_is_better(metric) else "higher"


def _higher(metric: str) -> bool | None:
    direction = _direction(metric)
    return None if direction == "neither" else direction == "higher"


def _find_datasets(
    runs: list[TrainingRun],
    predicted: Mapping[str, pd.DataFrame],
    find: DatasetFinder | None,
    notes: list[str],
) -> dict[str, Dataset | None]:
    """The dataset version each run trained on, matched by the MD5s of its test images."""
    if find is None:
        return {}
    found: dict[str, Dataset | None] = {}
    for run in runs:
        frame = predicted.get(run.id)
        if frame is None or "md5" not in frame:
            continue
        found[run.id] = find(run, dict(zip(frame["path"].astype(str), frame["md5"], strict=True)))
        if found[run.id] is None:
            notes.append(
                f"no version of dataset {run.owner}/{run.dataset} in the store holds the test "
                f"images of run {run.id[:8]}: its image statistics are empty"
            )
    return found


def _image_features(
    runs: list[TrainingRun],
    datasets: Mapping[str, Dataset | None],
    load: FeatureLoader,
    notes: list[str],
) -> pd.DataFrame:
    """Every run's feature rows (see :func:`.features.feature_rows`), with a ``run_id`` column."""
    rows = []
    for run in runs:
        if run.metrics is None:
            continue
        try:
            features = load(run)
        except NotFoundError as exc:
            notes.append(str(exc))
            continue
        rows += [
            {"run_id": run.id, **row} for row in feature_rows(run, features, datasets.get(run.id))
        ]
    return pd.DataFrame(rows)


def _keyed(
    runs: list[TrainingRun],
    frames: Iterable[tuple[TrainingRun, pd.DataFrame]],
    keys: Callable[[TrainingRun], tuple[int, int, int, int]],
    label_key: Mapping[str, int],
    table: str,
    columns: Callable[[pd.DataFrame], Mapping[str, Any]],
) -> pd.DataFrame:
    """Rows of a per-image fact table: the run's keys, label keys, then ``columns(frame)``."""
    parts = []
    lookup = pd.Series(label_key)
    for run, frame in frames:
        truth, guess = frame["label"].astype(str), frame["predicted"].astype(str)
        part = pd.DataFrame(
            {
                "true_label_key": lookup.reindex(truth).to_numpy(),
                "predicted_label_key": lookup.reindex(guess).to_numpy(),
                "correct": (truth == guess).to_numpy(),
                **columns(frame),
            }
        )
        for column, value in zip(
            ("run_key", "model_key", "dataset_key", "date_key"), keys(run), strict=True
        ):
            part.insert(0, column, value)
        parts.append(part)
    if not parts:
        return _frame(table, [])
    return _frame(table, pd.concat(parts, ignore_index=True)[list(TABLES[table])])


def _fact_image_feature(
    runs: list[TrainingRun],
    features: pd.DataFrame,
    keys: Callable[[TrainingRun], tuple[int, int, int, int]],
    label_key: Mapping[str, int],
) -> pd.DataFrame:
    names = [c for c in TABLES["fact_image_feature"] if c in features]
    frames = (
        [(run, features[features["run_id"] == run.id]) for run in runs] if len(features) else []
    )
    return _keyed(
        runs,
        ((run, frame.reset_index(drop=True)) for run, frame in frames if len(frame)),
        keys,
        label_key,
        "fact_image_feature",
        lambda frame: {c: frame[c].to_numpy() for c in names if c != "correct"},
    )


def _fact_prediction(
    runs: list[TrainingRun],
    predicted: Mapping[str, pd.DataFrame],
    keys: Callable[[TrainingRun], tuple[int, int, int, int]],
    label_key: Mapping[str, int],
    versions: Mapping[str, str],
) -> pd.DataFrame:
    def columns(run: TrainingRun) -> Callable[[pd.DataFrame], Mapping[str, Any]]:
        return lambda frame: {
            "score": frame["score"].to_numpy(dtype=np.float64),
            "path": frame["path"].astype(str).to_numpy(),
            "image": [image_ref(run, p, versions.get(run.id)) for p in frame["path"].astype(str)],
        }

    parts = [
        _keyed(runs, [(run, frame)], keys, label_key, "fact_prediction", columns(run))
        for run in runs
        if (frame := predicted.get(run.id)) is not None and not frame.empty
    ]
    if not parts:
        return _frame("fact_prediction", [])
    return _frame("fact_prediction", pd.concat(parts, ignore_index=True))


def export_powerbi(
    runs: Iterable[TrainingRun],
    out: str | os.PathLike[str] | None = None,
    *,
    workspace: Workspace | None = None,
    to_store: bool = False,
    prefix: str = "powerbi",
    formats: Sequence[Format] = ("parquet", "csv"),
) -> tuple[StarSchema, list[str]]:
    """Build the star schema and write it to ``out`` and/or the workspace store.

    Endpoints, price overrides and the datasets' images come from ``workspace`` when
    given.  In the store the files go under ``<owner>/<prefix>/``, so students sharing
    a container never overwrite each other.  Returns the schema and the written files
    (local paths, then store keys).
    """
    if out is None and not to_store:
        raise ConfigError(
            "nowhere to export: pass an output folder, or to_store=True with a workspace"
        )
    if to_store and workspace is None:
        raise ConfigError("to_store=True needs the workspace whose store receives the files")
    schema = build_star_schema(
        runs,
        endpoints=load_endpoints(workspace) if workspace else (),
        prices=workspace.config.prices if workspace else None,
        find_dataset=dataset_finder(workspace.store) if workspace else None,
    )
    written = [str(p) for p in schema.write(out, formats=formats)] if out is not None else []
    if to_store and workspace is not None:
        owned = f"{workspace.owner}/{prefix.strip('/')}"
        written += schema.upload(workspace.store, prefix=owned, formats=formats)
    return schema, written
