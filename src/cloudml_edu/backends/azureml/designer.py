"""The ``designer`` backend on Azure ML: a pipeline job of six v2 command components.

The components (``components/*.yaml``, shipped in the wheel) are the local
designer's steps; they are registered once per library version and content
(``<version>-<hash>``), assembled with ``@pipeline(default_compute=...)`` and
submitted as a pipeline job, which the Designer canvas shows as its graph.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cloudml_edu.backends.azureml import known, service
from cloudml_edu.backends.azureml.backend import METRICS_OUTPUT, STATUS, AzureMLBackend, Submission
from cloudml_edu.backends.azureml.connection import client_for, scope_of, translate
from cloudml_edu.records.plan import PlanStep
from cloudml_edu.records.run import StepRecord
from cloudml_edu.training.models import default_model

if TYPE_CHECKING:
    from cloudml_edu.backends.base import TrainOptions
    from cloudml_edu.records.run import RunRecord
    from cloudml_edu.workspace import Workspace

__all__ = ["COMPONENT_DIR", "STEPS", "AzureDesignerBackend", "component_version"]

COMPONENT_DIR = Path(__file__).with_name("components")
STEPS = ("prepare", "split", "featurize", "train", "score", "evaluate")


def component_version(code: Path, environment: str) -> str:
    """``<library version>-<hash of the YAML files, the code snapshot's name, the environment>``."""
    from cloudml_edu._version import __version__

    digest = hashlib.sha256(f"{code.name}\0{environment}".encode())
    for step in STEPS:
        digest.update((COMPONENT_DIR / f"{step}.yaml").read_bytes())
    return f"{__version__}-{digest.hexdigest()[:10]}"


class AzureDesignerBackend(AzureMLBackend):
    """A pipeline job per fit; each step is listed with status, outputs and studio link."""

    name: ClassVar[str] = "designer"
    job_type: ClassVar[str] = "Pipeline"

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None:
        if "model" not in options.model_fields_set:  # the local designer's default too
            options = options.model_copy(update={"model": default_model(self.name)})
        super().__init__(workspace, options, progress=progress)
        self._registered: dict[str, Any] = {}

    def components(self, code: Path, environment: str) -> dict[str, Any]:
        """The six components as loaded from YAML, with this version, environment and code."""
        from azure.ai.ml import load_component

        version = component_version(code, environment)
        loaded: dict[str, Any] = {}
        for step in STEPS:
            component: Any = load_component(source=COMPONENT_DIR / f"{step}.yaml")
            component.version = version
            component.code = str(code)
            component.environment = environment
            component.tags = self.tags()
            loaded[step] = component
        return loaded

    def job_steps(self, submission: Submission) -> list[PlanStep]:
        version = component_version(submission.code, submission.environment)
        return [
            PlanStep(
                name=f"component {step}",
                action=f"register cloudml_edu_{step}:{version} (skipped when registered)",
                detail={"yaml": str(COMPONENT_DIR / f"{step}.yaml")},
            )
            for step in STEPS
        ]

    def job_detail(self, job: Any) -> dict[str, Any]:
        """The pipeline's graph: each node's component and inputs."""
        return {
            "graph": {
                node: {
                    "component": STEPS[i],
                    "inputs": sorted(str(k) for k in (step.inputs or {})),
                }
                for i, (node, step) in enumerate(job.jobs.items())
            },
            "default_compute": str(job.settings.default_compute),
        }

    def prepare(self, submission: Submission, *, trust_known: bool) -> None:
        """Register the components that are not registered yet (looked up by name and version).

        With ``trust_known``, a version this workspace folder has seen is used as
        ``azureml:<name>:<version>`` without asking.
        """
        from azure.core.exceptions import ResourceNotFoundError

        client = client_for(self.workspace)
        for step, component in self.components(submission.code, submission.environment).items():
            key = f"{component.name}:{component.version}"
            if trust_known and known.is_known(self.workspace, "component", key):
                # registered before: azure-ai-ml uses a component's id as is, without asking
                component._id = (
                    f"{scope_of(self.workspace).arm_id}/components/{key.replace(':', '/versions/')}"
                )
                self._registered[step] = component
                continue
            try:
                found = client.components.get(component.name, version=component.version)
            except ResourceNotFoundError:
                try:
                    found = client.components.create_or_update(component)
                except Exception as exc:
                    raise translate(
                        exc, action=f"register component {component.name}", ws=self.workspace
                    ) from exc
            except Exception as exc:
                raise translate(
                    exc, action=f"look up component {component.name}", ws=self.workspace
                ) from exc
            known.remember(self.workspace, "component", key)
            self._registered[step] = found

    def build_job(self, submission: Submission, *, name: str) -> Any:
        from azure.ai.ml import Input
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.dsl import pipeline
        from azure.ai.ml.entities import UserIdentityConfiguration

        c = self._registered or self.components(submission.code, submission.environment)
        o = self.options
        features: dict[str, Any] = {"image_size": o.image_size, "color_mode": o.color_mode}
        if not o.gradients:
            features["no_gradients"] = "--no-gradients"
        model = {"model_family": o.model, "params": json.dumps(o.model_params(), sort_keys=True)}

        @pipeline(  # type: ignore[call-overload]
            name=name,
            display_name=f"{self.workspace.owner} designer {o.model}",
            experiment_name=o.experiment,
            default_compute=submission.compute or "serverless",
            tags=self.tags(),
        )
        def cloudml_designer(dataset):  # type: ignore[no-untyped-def]  # the DSL reads annotations
            # node names are the variable names: the steps' names in the canvas
            prepare = c["prepare"](dataset=dataset)
            split = c["split"](
                dataset=dataset,
                manifest=prepare.outputs.manifest,
                test_size=o.test_size,
                seed=o.seed,
            )
            featurize = c["featurize"](dataset=dataset, split=split.outputs.split, **features)
            train = c["train"](features=featurize.outputs.features, seed=o.seed, **model)
            score = c["score"](model=train.outputs.model, features=featurize.outputs.features)
            evaluate = c["evaluate"](
                dataset=dataset,
                split=split.outputs.split,
                features=featurize.outputs.features,
                model=train.outputs.model,
                scores=score.outputs.scores,
                **model,
                **features,
            )
            return {METRICS_OUTPUT: evaluate.outputs.metrics}

        job = cloudml_designer(dataset=Input(type=AssetTypes.URI_FOLDER, path=submission.data))
        job.name = name
        job.identity = UserIdentityConfiguration()  # steps read data as the student
        for key, value in self.options.backend_options.items():
            setattr(job, key, value)
        return job

    def collect(self, run: RunRecord) -> None:
        """List the pipeline's steps (``jobs.list(parent_job_name=)``) with status, outputs, link."""
        assert run.remote is not None
        try:
            children = list(client_for(self.workspace).jobs.list(parent_job_name=run.remote.name))
        except Exception as exc:
            raise translate(
                exc, action=f"list the steps of job {run.remote.name}", ws=self.workspace
            ) from exc
        order = {step: i for i, step in enumerate(STEPS)}
        run.steps = sorted(
            (
                StepRecord(
                    name=str(child.display_name or child.name),
                    component=f"cloudml_edu_{child.display_name}"
                    if child.display_name in order
                    else str(child.display_name or child.name),
                    status=STATUS.get(str(getattr(child.status, "value", child.status)), "Running"),
                    outputs={
                        k: f"azureml://jobs/{child.name}/outputs/{k}" for k in _outputs(child)
                    },
                    url=str(child.studio_url or ""),
                )
                for child in children
            ),
            key=lambda s: order.get(s.name, len(order)),
        )
        # ours is "evaluate"; a Designer canvas pipeline's is "Evaluate Model"
        evaluate = [c for c in children if str(c.display_name).lower().startswith("evaluate")]
        run.remote.details["evaluate_job"] = evaluate[0].name if evaluate else run.remote.name

    def metrics_run(self, run: RunRecord) -> str:
        assert run.remote is not None
        return str(run.remote.details.get("evaluate_job", run.remote.name))

    def model_uri(self, run: RunRecord) -> str:
        """The evaluate step's ``mlflow_model`` output."""
        return f"azureml://jobs/{self.metrics_run(run)}/outputs/mlflow_model"

    def failure(self, run: RunRecord, details: dict[str, Any]) -> str:
        """The failed step's own error (with its traceback), else the pipeline's."""
        assert run.remote is not None
        try:
            children = list(client_for(self.workspace).jobs.list(parent_job_name=run.remote.name))
        except Exception:
            return service.error_of(details)
        for child in children:
            if str(getattr(child.status, "value", child.status)) == "Failed":
                found = service.error_of(service.job_details(self.workspace, str(child.name)))
                if found:
                    return f"step {child.display_name or child.name} failed: {found}"
        return service.error_of(details)


def _outputs(child: Any) -> list[str]:
    outputs = getattr(child, "outputs", None) or {}
    return list(outputs) or [
        o
        for step in STEPS
        if step == child.display_name
        for o in {
            "prepare": ["manifest"],
            "split": ["split"],
            "featurize": ["features"],
            "train": ["model"],
            "score": ["scores"],
            "evaluate": ["metrics"],
        }[step]
    ]
