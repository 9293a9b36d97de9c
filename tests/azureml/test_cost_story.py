"""One cost story: the plan, ``compare`` and the Power BI export price the same run alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cloudml_edu import Dataset, Trainer
from cloudml_edu.metrics import Metrics
from cloudml_edu.pricing import CloudCompute, estimate_run
from cloudml_edu.report import compare
from cloudml_edu.report.powerbi.export import build_star_schema
from cloudml_edu.run import TrainingRun


def test_plan_compare_and_powerbi_give_the_same_estimate(mock_azure_ml: Any, images: Path) -> None:
    ws = mock_azure_ml.workspace
    dataset = Dataset.from_folder(images, progress=False)
    plan = Trainer("sdk", workspace=ws).plan(dataset)
    # a local run that took exactly as long as the plan expects the job itself to take
    run_minutes = plan.estimated_minutes - 6.0  # the plan's minutes include the start-up
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    run = TrainingRun(
        id="c" * 32,
        backend="sdk",
        target="local",
        dataset=dataset.name,
        status="Completed",
        started=start,
        ended=start + timedelta(minutes=run_minutes),
        metrics=Metrics(accuracy=0.9, labels=["a", "b"], confusion_matrix=[[1, 0], [0, 1]]),
    )
    compute = CloudCompute.from_config(ws.config)
    row = compare([run], artifacts=False, compute=compute, prices=ws.config.prices).rows[0]
    schema = build_star_schema([run], artifacts=False, compute=compute, prices=ws.config.prices)
    exported = float(schema["dim_run"]["estimate_usd"].iloc[0])
    assert schema["dim_run"]["estimate_target"].iloc[0] == "azureml"
    expected = estimate_run("azureml", run_minutes / 60, sku=ws.config.azure_ml.vm_size)
    assert plan.estimated_cost_usd == pytest.approx(expected.total_usd, abs=1e-4)
    assert row.cloud_estimate is not None
    assert row.cloud_estimate.usd == pytest.approx(plan.estimated_cost_usd, abs=1e-4)
    assert exported == pytest.approx(plan.estimated_cost_usd, abs=1e-4)
    # start-up and the endpoint hour are in all three, and the endpoint is priced per hour
    assert expected.startup_usd > 0 and expected.endpoint_usd > 0
    assert plan.endpoint_hourly_usd == expected.endpoint_hourly_usd
    assert "endpoint" in str(plan) and "/day" in str(plan)
