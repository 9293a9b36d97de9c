"""``plan()`` for the Azure ML backends (no request at all) and ``Plan.write`` as CLI v2 YAML."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudml_edu.backends.azureml.assets import dataset_location
from cloudml_edu.backends.azureml.cli_yaml import plan_files
from cloudml_edu.backends.azureml.entities import endpoint_name
from cloudml_edu.records.plan import Plan, PlanStep

if TYPE_CHECKING:
    from cloudml_edu.backends.azureml.backend import AzureMLBackend
    from cloudml_edu.datasets import Dataset

__all__ = ["build_plan"]

#: What Azure ML takes to build the job environment's image the first time (measured on
#: similar conda + pip images; every later job reuses the image).
FIRST_BUILD_MINUTES = 8


def _environment_step(environment: str, code: str, *, own: bool) -> PlanStep:
    from cloudml_edu.backends.azureml.environment import JOB_ENVIRONMENT

    if own:
        action = (
            f"the library's job environment {environment} (Python {JOB_ENVIRONMENT.python}, "
            f"{len(JOB_ENVIRONMENT.pins)} exact pins, the local lab's versions): registered when "
            f"missing; Azure ML builds its image on first use (~{FIRST_BUILD_MINUTES} min, once per "
            "version), later jobs reuse it"
        )
    else:
        action = f"environment {environment} from [azure_ml] environment (yours: its Python must be 3.11+)"
    return PlanStep(
        name="environment",
        action=action + "; the training code goes as the job's code snapshot (by content hash)",
        detail={
            "environment": environment,
            "code": code,
            "pins": list(JOB_ENVIRONMENT.pins) if own else [],
        },
    )


def build_plan(backend: AzureMLBackend, dataset: Dataset) -> Plan:
    """What ``fit`` would create and run on Azure ML, and what it would cost."""
    from cloudml_edu.pricing import estimate_run, price_of

    cfg, ws = backend.settings, backend.workspace
    submission = backend.offline_submission(dataset)
    path, in_place = dataset_location(dataset)
    job = backend.build_job(submission, name="<generated at submit>")
    steps = [
        PlanStep(
            name="data",
            action="uri_folder data asset over the uploaded dataset (reused when it exists)"
            if in_place
            else "uri_folder data asset: azure-ai-ml uploads a copy holding only the manifest's "
            "images (no link is followed) to the workspace datastore once",
            detail={"asset": submission.data, "path": path},
        ),
        PlanStep(
            name="compute",
            action="serverless compute"
            if submission.compute is None
            else f"AmlCompute {cfg.compute} ({cfg.vm_size}, 0..{cfg.max_instances} nodes, "
            f"scales to 0 after {cfg.idle_seconds} s idle; created when missing)",
            detail={"compute": submission.compute or "serverless", "vm_size": cfg.vm_size},
        ),
        _environment_step(submission.environment, str(submission.code), own=not cfg.environment),
        *backend.job_steps(submission),
        PlanStep(
            name="job",
            action=f"submit a {backend.job_type} job and poll it",
            detail=backend.job_detail(job),
        ),
    ]
    run_minutes = max(1.0, len(dataset) / 1000)
    minutes = round(backend.startup_minutes + run_minutes, 1)
    price = price_of(cfg.vm_size, overrides=ws.config.prices)
    estimate = estimate_run(
        "azureml",
        run_minutes / 60,
        sku=cfg.vm_size,
        startup_minutes=backend.startup_minutes,
        serving=cfg.instance_type,
        overrides=ws.config.prices,
    )
    summary = (
        f"{backend.name} on Azure ML for dataset {dataset.name}: ~{minutes:.1f} min on 1 x "
        f"{cfg.vm_size}, estimated ${estimate.total_usd:.2f} ({estimate.basis})"
    )
    files = plan_files(
        ws,
        dataset,
        job,
        endpoint=endpoint_name(ws, dataset.name),
        summary=summary,
        serving_price=price_of(cfg.instance_type, overrides=ws.config.prices).describe(),
    )
    return Plan(
        backend=backend.name,
        target="azureml",
        dataset=dataset.name,
        steps=steps,
        compute_sku=cfg.vm_size,
        nodes=1,
        estimated_minutes=minutes,
        estimated_cost_usd=estimate.total_usd,
        endpoint_hourly_usd=estimate.endpoint_hourly_usd,
        cost_basis=estimate.basis,
        price_source=price.describe(),
        files=files,
    )
