"""Run selection: one dataset, completed runs, newest per backend; best only among comparable runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from report_fakes import synthetic_run
from rich.console import Console

from cloudml_edu.errors import ConfigError, NotFoundError
from cloudml_edu.pricing import PRICES, CloudCompute, estimate_on
from cloudml_edu.report import compare, latest_per_backend, select_runs
from cloudml_edu.run import TrainingRun
from cloudml_edu.targets import get_target

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _run(
    letter: str,
    *,
    hours: int,
    backend: str = "sdk",
    owner: str = "a",
    dataset: str = "pets",
    status: str = "Completed",
    accuracy: float = 0.8,
    store: str = "sqlite:////course/alice/mlflow.db",
) -> TrainingRun:
    run = synthetic_run(backend=backend, owner=owner, started=T0 + timedelta(hours=hours))
    assert run.metrics is not None
    metrics = run.metrics.model_copy(update={"accuracy": accuracy})
    return run.model_copy(
        update={
            "id": letter * 32,
            "dataset": dataset,
            "status": status,
            "metrics": metrics if status == "Completed" else None,
            "tracking_uri": store,
        }
    )


def test_statuses_are_the_run_statuses() -> None:
    from typing import get_args

    from cloudml_edu.report.selection import STATUSES
    from cloudml_edu.run import RunStatus

    assert get_args(RunStatus) == STATUSES


def test_newest_of_each_backend_per_owner_and_workspace() -> None:
    runs = [
        _run("a", hours=0),
        _run("b", hours=1),
        _run("c", hours=2, owner="b"),
        _run("d", hours=0, backend="automl"),
        _run("e", hours=3, store="sqlite:////course/bob/mlflow.db"),  # same owner, other store
    ]
    assert sorted(r.id[0] for r in latest_per_backend(runs)) == ["b", "c", "d", "e"]


def test_a_failed_experiment_does_not_push_good_runs_out() -> None:
    good = _run("a", hours=0)
    failed = _run("b", hours=1, status="Failed")
    chosen = select_runs([good, failed])
    assert [r.id for r in chosen.runs] == [good.id]
    assert any("--status all" in note for note in chosen.notes)
    everything = select_runs([good, failed], statuses=["all"], latest=False)
    assert {r.id for r in everything.runs} == {good.id, failed.id}
    assert [r.id for r in select_runs([good, failed], statuses=["failed"]).runs] == [failed.id]


def test_the_newest_runs_dataset_unless_one_is_named() -> None:
    pets = _run("a", hours=0, backend="designer")
    digits = _run("b", hours=1, dataset="digits")
    failed_flowers = _run("c", hours=2, dataset="flowers", status="Failed")
    chosen = select_runs([pets, digits, failed_flowers])
    assert chosen.dataset == "digits" and [r.id for r in chosen.runs] == [digits.id]
    assert any("pets" in note and "--dataset" in note for note in chosen.notes)
    named = select_runs([pets, digits], dataset="pets")
    assert [r.id for r in named.runs] == [pets.id] and named.dataset == "pets"


def test_nothing_left_names_the_option_that_widens_the_choice() -> None:
    with pytest.raises(NotFoundError, match="--status all"):
        select_runs([_run("a", hours=0, status="Failed")])
    with pytest.raises(NotFoundError, match="runs exist on: pets"):
        select_runs([_run("a", hours=0)], dataset="digits")
    with pytest.raises(ConfigError, match="Completed, Failed"):
        select_runs([_run("a", hours=0)], statuses=["done"])


def test_best_only_among_runs_of_the_same_dataset() -> None:
    runs = [
        _run("a", hours=0, accuracy=0.99, dataset="digits", backend="designer"),
        _run("b", hours=0, accuracy=0.80, dataset="pets", backend="sdk"),
        _run("c", hours=0, accuracy=0.85, dataset="pets", backend="automl"),
    ]
    table = compare(runs, artifacts=False)
    assert table.best() is None  # two datasets: no single best
    best = table.best(dataset="pets")
    assert best is not None and best.run_id == "c" * 32
    console = Console(record=True, width=200)
    table.print(console)
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "backend" in line)
    assert "dataset" in header
    assert table.to_html().count('class="best"') == 1  # digits has one run: nothing to beat
    assert '<tr class="best"><td class="txt">pets' in table.to_html()


def test_local_runs_are_priced_as_one_row_per_target_that_offers_the_backend() -> None:
    run = _run("a", hours=0).model_copy(update={"target": "local"})  # sdk: Azure ML only
    hours = run.seconds / 3600
    row = compare([run], artifacts=False).rows[0]
    assert [(e.target, e.title, e.sku) for e in row.estimates] == [
        ("azureml", "Azure ML", "Standard_DS3_v2")
    ]
    (azure,) = row.estimates
    assert azure.usd == pytest.approx(PRICES["Standard_DS3_v2"].usd_per_hour * hours, abs=1e-4)
    assert azure.basis.startswith("estimate:") and "2026-11-27" in azure.basis
    automl = _run("d", hours=0, backend="automl").model_copy(update={"target": "local"})
    (databricks,) = compare([automl], artifacts=False).rows[0].estimates
    dbu = 0.75 * PRICES["DBU_jobs_premium"].usd_per_hour
    assert databricks.target == "databricks" and databricks.usd == pytest.approx(
        (PRICES["Standard_DS3_v2"].usd_per_hour + dbu) * automl.seconds / 3600, abs=1e-4
    )
    bigger = CloudCompute({"azureml": "Standard_NC6s_v3", "databricks": "Standard_DS4_v2"})
    (costly,) = compare([run], artifacts=False, compute=bigger).rows[0].estimates
    assert costly.usd == pytest.approx(3.06 * hours, abs=1e-4)
    cloud = compare([_run("b", hours=0)], artifacts=False).rows[0]  # target azureml
    assert cloud.estimates == ()
    console = Console(record=True, width=200)
    compare([run], artifacts=False).print(console)
    text = console.export_text()
    assert "≈ Azure ML (Standard_DS3_v2)" in text and f"~${azure.usd:.2f}" in text
    assert "≈ Databricks" not in text
    html = compare([run], artifacts=False).to_html()
    assert html.count('<tr class="estimate">') == 1


def test_estimates_without_a_price_say_why() -> None:
    azureml, databricks = get_target("azureml"), get_target("databricks")
    unknown = CloudCompute({"azureml": "Standard_Z9", "databricks": "Standard_Z9"})
    found = [estimate_on(t, 1.0, unknown) for t in (azureml, databricks)]
    assert [e.usd for e in found] == [None, None]
    assert "[prices]" in found[0].basis and "no recorded DBU rate" in found[1].basis
    cheap = {"Standard_DS3_v2": 1.0, "DBU_jobs_premium": 0.0}
    assert [estimate_on(t, 2.0, overrides=cheap).usd for t in (azureml, databricks)] == [2.0, 2.0]


def test_compute_from_config() -> None:
    from cloudml_edu.config import CloudMLConfig

    config = CloudMLConfig.model_validate(
        {
            "azure_ml": {"vm_size": "Standard_DS12_v2"},
            "databricks": {"host": "https://adb.example", "node_type_id": "Standard_F4s_v2"},
        }
    )
    assert CloudCompute.from_config(config) == CloudCompute(
        {"azureml": "Standard_DS12_v2", "databricks": "Standard_F4s_v2"}
    )
    assert CloudCompute.from_config(CloudMLConfig()) == CloudCompute()
