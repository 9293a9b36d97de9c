"""The ``sdk`` backend on Azure ML: one command job running ``python -m cloudml_edu.training``.

The same command the local sdk backend runs in a subprocess, with the dataset's
data asset as ``inputs.data``, the code snapshot as the job's code, the library's
job environment (:mod:`.environment`: nothing installed at job start), metrics
logged with MLflow inside the job (Azure ML points MLflow at the job's run), and
the model saved to the job's output ``model`` (type ``mlflow_model``), registered
from ``azureml://jobs/<name>/outputs/model``, and the full metrics (labels,
confusion matrix, per-class report) written to its ``metrics`` output.
"""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from cloudml_edu.backends._command import training_arguments
from cloudml_edu.backends.azureml.backend import METRICS_OUTPUT, AzureMLBackend, Submission

__all__ = ["AzureSdkBackend", "job_command"]


def job_command(module: str, arguments: list[str]) -> str:
    """``python -m <module> <arguments>``, quoted for the job's shell (references left as is)."""
    return " ".join(["python", "-m", module, *(_quote(a) for a in arguments)])


def _quote(argument: str) -> str:
    return argument if argument.startswith("${{") else shlex.quote(argument)


class AzureSdkBackend(AzureMLBackend):
    """One command job per fit."""

    name: ClassVar[str] = "sdk"
    job_type: ClassVar[str] = "Command"

    def build_job(self, submission: Submission, *, name: str) -> Any:
        from azure.ai.ml import Input, Output, command
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import UserIdentityConfiguration

        arguments = training_arguments(self.options, data="${{inputs.data}}", manifest=None)
        arguments += ["--model-out", "${{outputs.model}}", "--metrics-out", "${{outputs.metrics}}"]
        options: dict[str, Any] = {
            "name": name,
            "display_name": f"{self.workspace.owner} sdk {self.options.model}",
            "experiment_name": self.options.experiment,
            "command": job_command("cloudml_edu.training", arguments),
            "code": str(submission.code),
            "inputs": {"data": Input(type=AssetTypes.URI_FOLDER, path=submission.data)},
            "outputs": {
                "model": Output(type=AssetTypes.MLFLOW_MODEL),
                METRICS_OUTPUT: Output(type=AssetTypes.URI_FOLDER),
            },
            "environment": submission.environment,
            "environment_variables": {"CLOUDML_NO_PROGRESS": "1"},
            # data is read with the student's identity (Storage Blob Data Reader on the account)
            "identity": UserIdentityConfiguration(),
            "tags": self.tags(),
        }
        if submission.compute is not None:
            options["compute"] = submission.compute
        options.update(self.options.backend_options)
        return command(**options)
