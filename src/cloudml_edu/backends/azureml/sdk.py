"""The ``sdk`` backend on Azure ML: one command job running ``python -m cloudml_edu.training``.

The same command the local sdk backend runs in a subprocess, with the dataset's
data asset as ``inputs.data``, the code snapshot as the job's code, a curated
scikit-learn environment (no image build) and MLflow logging inside the job
(Azure ML points MLflow at the job's run), so the model is an MLflow model at
``azureml://jobs/<name>/outputs/artifacts/paths/model/``.
"""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from cloudml_edu.backends._command import training_arguments
from cloudml_edu.backends.azureml.backend import AzureMLBackend, Submission

__all__ = ["JOB_PACKAGES", "AzureSdkBackend"]

#: What the curated sklearn image lacks for the training code; pip installs it at job start
#: (a few seconds; no image build).
JOB_PACKAGES = ("pydantic>=2.7", "pillow>=10")


def job_command(module: str, arguments: list[str]) -> str:
    """``pip install -q <packages> && python -m <module> <arguments>``, quoted for the job's shell."""
    install = "pip install --quiet " + " ".join(shlex.quote(p) for p in JOB_PACKAGES)
    run = " ".join(["python", "-m", module, *(_quote(a) for a in arguments)])
    return f"{install} && {run}"


def _quote(argument: str) -> str:
    return argument if argument.startswith("${{") else shlex.quote(argument)


class AzureSdkBackend(AzureMLBackend):
    """One command job per fit."""

    name: ClassVar[str] = "sdk"
    job_type: ClassVar[str] = "Command"

    def build_job(self, submission: Submission, *, name: str) -> Any:
        from azure.ai.ml import Input, command
        from azure.ai.ml.constants import AssetTypes

        arguments = training_arguments(self.options, data="${{inputs.data}}", manifest=None)
        options: dict[str, Any] = {
            "name": name,
            "display_name": f"{self.workspace.owner} sdk {self.options.model}",
            "experiment_name": self.options.experiment,
            "command": job_command("cloudml_edu.training", arguments),
            "code": str(submission.code),
            "inputs": {"data": Input(type=AssetTypes.URI_FOLDER, path=submission.data)},
            "environment": self.settings.environment,
            "environment_variables": {"CLOUDML_NO_PROGRESS": "1"},
            "tags": self.tags(),
        }
        if submission.compute is not None:
            options["compute"] = submission.compute
        options.update(self.options.backend_options)
        return command(**options)
