"""The Power BI star schema: tables, types, keys that resolve, files and the store."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from report_fakes import Trained, synthetic_run

from cloudml_edu import ConfigError
from cloudml_edu.report import build_star_schema, export_powerbi
from cloudml_edu.report.powerbi.schema import ALL_LABELS, RELATIONSHIPS, TABLES

# One worker trains the session's runs once for every report test (pytest -n with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("report")


@pytest.fixture(scope="module")
def schema(trained: Trained) -> object:
    return build_star_schema(list(trained.runs.values()))


def test_every_table_has_its_columns_and_integer_keys(schema) -> None:  # type: ignore[no-untyped-def]
    assert list(schema.tables) == list(TABLES)
    for name, columns in TABLES.items():
        frame = schema[name]
        assert list(frame.columns) == list(columns), name
        for column in columns:
            if column.endswith("_key"):
                assert str(frame[column].dtype) == "Int64", (name, column)
    for dim in ("dim_run", "dim_model", "dim_dataset", "dim_label", "dim_metric", "dim_date"):
        key = next(iter(TABLES[dim]))
        assert schema[dim][key].is_unique, dim


def test_every_foreign_key_resolves(schema) -> None:  # type: ignore[no-untyped-def]
    assert schema.dangling_keys() == []
    for table, column, dim, key in RELATIONSHIPS:
        values = schema[table][column]
        if table.startswith("fact_"):
            assert values.notna().all(), (table, column)
        assert set(values.dropna()) <= set(schema[dim][key]), (table, column)
    broken = build_star_schema(
        [synthetic_run()],
        predictions=lambda run: pd.DataFrame(
            {"label": ["cat"], "predicted": ["dog"], "score": [0.6], "path": ["x.png"]}
        ),
    )
    broken.tables["fact_metric"].loc[0, "run_key"] = 99
    assert broken.dangling_keys() and "fact_metric.run_key" in broken.dangling_keys()[0]


def test_facts_match_the_runs(schema, trained: Trained) -> None:  # type: ignore[no-untyped-def]
    runs = list(trained.runs.values())
    predictions = schema["fact_prediction"]
    assert len(predictions) == sum(r.metrics.n_test for r in runs if r.metrics)
    run_keys = dict(zip(schema["dim_run"]["run_id"], schema["dim_run"]["run_key"], strict=True))
    confusion = schema["fact_confusion"]
    for run in runs:
        assert run.metrics is not None
        mine = predictions[predictions["run_key"] == run_keys[run.id]]
        assert mine["correct"].mean() == pytest.approx(run.metrics.accuracy)
        assert (
            confusion[confusion["run_key"] == run_keys[run.id]]["count"].sum() == run.metrics.n_test
        )
    labels = schema["dim_label"]
    assert labels.loc[labels["label_key"] == 0, "label"].item() == ALL_LABELS
    assert set(labels["label"]) - {ALL_LABELS} == set(trained.runs["designer"].metrics.labels)
    metric_key = dict(
        zip(schema["dim_metric"]["metric"], schema["dim_metric"]["metric_key"], strict=True)
    )
    facts = schema["fact_metric"]
    accuracy = facts[(facts["metric_key"] == metric_key["accuracy"]) & (facts["label_key"] == 0)]
    assert sorted(accuracy["value"]) == pytest.approx(sorted(r.metrics.accuracy for r in runs))
    per_class = facts[facts["metric_key"] == metric_key["recall"]]
    assert (per_class["label_key"] > 0).all() and len(per_class) == 10 * len(runs)


def test_dimensions_describe_runs_models_and_dates(schema, trained: Trained) -> None:  # type: ignore[no-untyped-def]
    runs = schema["dim_run"].set_index("run_id")
    assert set(runs["owner"]) == {"student", "alice"}
    assert runs.loc[trained.runs["sdk"].id, "inspectable_steps"] == 2
    assert set(schema["dim_model"]["family"]) >= {"svc", "knn"}
    day = trained.runs["designer"].started.astimezone(UTC)
    assert day.year * 10000 + day.month * 100 + day.day in set(schema["dim_date"]["date_key"])
    assert len(schema["dim_endpoint"]) == 0 and list(schema["dim_endpoint"].columns) == list(
        TABLES["dim_endpoint"]
    )


def test_files_round_trip_with_their_types(schema, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    written = schema.write(tmp_path)
    assert {p.name for p in written} == {f"{t}.{f}" for t in TABLES for f in ("parquet", "csv")}
    types = pq.read_table(tmp_path / "dim_run.parquet").schema
    assert str(types.field("run_key").type) == "int64"
    assert str(types.field("started").type) == "timestamp[us, tz=UTC]"
    assert str(types.field("cost_usd").type) == "double"
    empty = pq.read_table(tmp_path / "dim_endpoint.parquet")
    assert empty.num_rows == 0 and empty.column_names == list(TABLES["dim_endpoint"])
    csv = pd.read_csv(tmp_path / "fact_prediction.csv")
    assert len(csv) == len(schema["fact_prediction"])
    assert list(csv.columns) == list(TABLES["fact_prediction"])


def test_export_reads_the_endpoint_registry_and_writes_to_the_store(trained: Trained) -> None:
    ws = trained.workspace()
    run = trained.runs["designer"]
    record = {
        "name": "digits",
        "model_uri": run.model,
        "run_id": run.id,
        "url": "http://127.0.0.1:5001",
        "created": datetime(2026, 11, 26, 9, 30, tzinfo=UTC).isoformat(),
    }
    path = ws.endpoints_dir / "digits.json"
    path.write_text(json.dumps(record))
    try:
        schema, keys = export_powerbi(
            [run], workspace=ws, to_store=True, prefix="exports/pbi", formats=["parquet"]
        )
    finally:
        path.unlink()
    endpoints = schema["dim_endpoint"]
    assert endpoints["endpoint"].tolist() == ["digits"]
    assert endpoints["run_key"].tolist() == schema["dim_run"]["run_key"].tolist()
    assert 20261126 in set(schema["dim_date"]["date_key"])
    assert schema.dangling_keys() == []
    assert sorted(keys) == sorted(f"student/exports/pbi/{t}.parquet" for t in TABLES)  # owner's
    stored = ws.store.get_bytes("student/exports/pbi/dim_endpoint.parquet")
    info = ws.store.info("student/exports/pbi/dim_endpoint.parquet")
    assert info is not None and info.md5 == hashlib.md5(stored).hexdigest()


def test_many_owners_with_an_injected_prediction_loader() -> None:
    runs = [synthetic_run(owner=f"s{i:02d}", run_id=f"{i:032d}") for i in range(30)]
    frame = pd.DataFrame(
        {
            "label": ["cat", "dog"] * 50,
            "predicted": ["cat"] * 100,
            "score": [0.9] * 100,
            "path": [f"{i}.png" for i in range(100)],
        }
    )
    schema = build_star_schema(runs, predictions=lambda run: frame, artifacts=False)
    assert len(schema["fact_prediction"]) == 3000
    assert schema["fact_prediction"]["correct"].sum() == 1500
    assert schema["dim_run"]["owner"].nunique() == 30
    assert schema.dangling_keys() == []


def test_nowhere_to_write_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="output folder"):
        export_powerbi([synthetic_run()])
    with pytest.raises(ConfigError, match="workspace"):
        export_powerbi([synthetic_run()], to_store=True)


def test_failed_runs_appear_in_dim_run_only() -> None:
    failed = synthetic_run(run_id="f" * 32).model_copy(update={"status": "Failed", "metrics": None})
    schema = build_star_schema([failed, failed], artifacts=False)  # nothing to load, counted once
    assert schema["dim_run"]["status"].tolist() == ["Failed"] and schema.notes == []
    assert all(len(schema[t]) == 0 for t in ("fact_metric", "fact_prediction", "fact_confusion"))
    assert schema.dangling_keys() == []


def test_metric_directions_leave_counts_without_a_better_side(schema) -> None:  # type: ignore[no-untyped-def]
    metrics = schema["dim_metric"].set_index("metric")
    assert metrics.loc["support", "direction"] == "neither"
    assert pd.isna(metrics.loc["support", "higher_is_better"])
    assert (
        metrics.loc["accuracy", "higher_is_better"]
        and metrics.loc["accuracy", "direction"] == "higher"
    )
    assert not metrics.loc["log_loss", "higher_is_better"]


def test_timestamps_are_utc_in_frames_and_csv(schema, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert str(schema["dim_run"]["started"].dt.tz) == "UTC"
    schema.write(tmp_path, formats=["csv"])
    started = pd.read_csv(tmp_path / "dim_run.csv")["started"]
    assert started.str.endswith("Z").all()


def test_dim_run_names_the_dataset(schema, trained: Trained) -> None:  # type: ignore[no-untyped-def]
    runs = schema["dim_run"].set_index("run_id")
    assert set(runs["dataset"]) == {trained.runs["sdk"].dataset}


def test_image_features_place_every_test_image_with_readable_statistics(trained: Trained) -> None:
    ws = trained.workspace()
    run = trained.runs["sdk"]
    schema, _ = export_powerbi([run], workspace=ws, to_store=True, formats=["parquet"])
    features = schema["fact_image_feature"]
    assert run.metrics is not None and len(features) == run.metrics.n_test
    assert schema.dangling_keys() == [] and schema.notes == []
    assert features[["pc1", "pc2", "brightness", "width"]].notna().all().all()
    assert features["pc1"].std() > 0 and (features["width"] == 32).all()
    gray = features[["red_mean", "green_mean", "blue_mean"]]
    assert (gray.max(axis=1) - gray.min(axis=1)).max() < 1e-9  # digits are grayscale
    # the reference names owner, dataset and version; the URL points into the store
    first = features.iloc[0]
    assert first["image"] == f"student/{run.dataset}/1/{first['path']}"
    assert first["image_url"].startswith(ws.store.url) and first["image_url"].endswith(
        first["path"]
    )
    predictions = schema["fact_prediction"]
    assert set(predictions["image"]) == set(features["image"])
    assert features["correct"].mean() == pytest.approx(run.metrics.accuracy)


def test_image_features_without_a_store_keep_the_embedding_and_say_why() -> None:
    import numpy as np

    run = synthetic_run()
    arrays = {
        "X": np.arange(12, dtype=float).reshape(4, 3) ** 2,
        "y": np.array(["cat", "dog", "cat", "dog"]),
        "predicted": np.array(["cat", "cat", "cat", "dog"]),
        "paths": np.array([f"{i}.png" for i in range(4)]),
    }
    frame = pd.DataFrame(
        {
            "label": arrays["y"],
            "predicted": arrays["predicted"],
            "score": 0.9,
            "path": arrays["paths"],
            "md5": ["0" * 32] * 4,
        }
    )
    schema = build_star_schema(
        [run],
        predictions=lambda r: frame,
        features=lambda r: arrays,
        find_dataset=lambda r, m: None,
        artifacts=False,
    )
    features = schema["fact_image_feature"]
    assert len(features) == 4 and features["brightness"].isna().all()
    assert features["image"].tolist()[0] == "student/pets/?/0.png"
    assert features["correct"].tolist() == [True, False, True, True]
    assert schema.notes and "student/pets" in schema.notes[0]
