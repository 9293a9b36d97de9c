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

from cloudml_edu.errors import ConfigError, NotFoundError
from cloudml_edu.metrics import lower_is_better
from cloudml_edu.report.comparison import compare, model_family
from cloudml_edu.report.powerbi.schema import ALL_LABELS, RELATIONSHIPS, TABLES, ColumnType

if TYPE_CHECKING:
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.storage.base import Store
    from cloudml_edu.workspace import Workspace

__all__ = [
    "METRICS",
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

#: Metrics of ``fact_metric``: name -> (description, per class); which way is better comes
#: from :func:`cloudml_edu.metrics.lower_is_better`.
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
    "support": ("test images of one class", True),
}

_PANDAS_TYPES: dict[ColumnType, str] = {
    "int": "Int64",
    "float": "float64",
    "string": "string",
    "bool": "boolean",
    "datetime": "datetime64[us]",
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
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, frame in self.tables.items():
            for fmt in formats:
                path = folder / f"{name}.{fmt}"
                if fmt == "parquet":
                    frame.to_parquet(path, index=False, engine="pyarrow")
                elif fmt == "csv":
                    frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")
                else:
                    raise ConfigError(f"unknown export format {fmt!r}; use parquet or csv")
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
        if kind == "datetime":
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
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


def _predictions_from_mlflow(folder: Path) -> PredictionLoader:
    from cloudml_edu.report._artifacts import RunFiles

    def load(run: TrainingRun) -> pd.DataFrame:
        return RunFiles(run, folder / run.id).predictions()

    return load


def build_star_schema(
    runs: Iterable[TrainingRun],
    *,
    endpoints: Sequence[Mapping[str, Any]] = (),
    prices: Mapping[str, float] | None = None,
    predictions: PredictionLoader | None = None,
    artifacts: bool = True,
) -> StarSchema:
    """Build every table for ``runs`` (any backends and owners) and ``endpoints`` records.

    ``predictions`` reads a run's test predictions (default: its ``predictions.csv``
    artifact); ``artifacts=False`` skips counting MLflow artifacts in ``dim_run``.
    """
    chosen = list({run.id: run for run in runs}.values())  # a run passed twice counts once
    if predictions is None:
        with tempfile.TemporaryDirectory(prefix="cloudml-powerbi-") as tmp:
            return _build(chosen, endpoints, prices, _predictions_from_mlflow(Path(tmp)), artifacts)
    return _build(chosen, endpoints, prices, predictions, artifacts)


def _build(
    runs: list[TrainingRun],
    endpoints: Sequence[Mapping[str, Any]],
    prices: Mapping[str, float] | None,
    load_predictions: PredictionLoader,
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
    labels = sorted(
        {label for r in runs if r.metrics for label in r.metrics.labels}
        | {
            str(v)
            for frame in predicted.values()
            for col in ("label", "predicted")
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
                (k, name, description, not lower_is_better(name), per_class)
                for k, (name, (description, per_class)) in enumerate(METRICS.items(), 1)
            ],
        ),
    }
    metric_key = dict(
        zip(tables["dim_metric"]["metric"], tables["dim_metric"]["metric_key"], strict=True)
    )
    tables["fact_metric"] = _fact_metric(runs, comparison.rows, keys, metric_key, label_key)
    tables["fact_confusion"] = _fact_confusion(runs, keys, label_key)
    tables["fact_prediction"] = _fact_prediction(runs, predicted, keys, label_key)
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


def _fact_prediction(
    runs: list[TrainingRun],
    predicted: Mapping[str, pd.DataFrame],
    keys: Callable[[TrainingRun], tuple[int, int, int, int]],
    label_key: Mapping[str, int],
) -> pd.DataFrame:
    parts = []
    lookup = pd.Series(label_key)
    for run in runs:
        frame = predicted.get(run.id)
        if frame is None or frame.empty:
            continue
        truth, guess = frame["label"].astype(str), frame["predicted"].astype(str)
        part = pd.DataFrame(
            {
                "true_label_key": lookup.reindex(truth).to_numpy(),
                "predicted_label_key": lookup.reindex(guess).to_numpy(),
                "score": frame["score"].to_numpy(dtype=np.float64),
                "correct": (truth == guess).to_numpy(),
                "path": frame["path"].astype(str).to_numpy(),
            }
        )
        for column, value in zip(
            ("run_key", "model_key", "dataset_key", "date_key"), keys(run), strict=True
        ):
            part.insert(0, column, value)
        parts.append(part)
    if not parts:
        return _frame("fact_prediction", [])
    return _frame(
        "fact_prediction", pd.concat(parts, ignore_index=True)[list(TABLES["fact_prediction"])]
    )


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

    Endpoints and price overrides come from ``workspace`` when given.  Returns the
    schema and the written files (local paths, then store keys).
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
    )
    written = [str(p) for p in schema.write(out, formats=formats)] if out is not None else []
    if to_store and workspace is not None:
        written += schema.upload(workspace.store, prefix=prefix, formats=formats)
    return schema, written
