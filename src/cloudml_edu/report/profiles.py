"""Usability profiles: what each backend asks of a student on the real cloud service.

``compare`` reports *set-up steps*, *lines of user code* and *deployment steps* per
backend.  They describe the native service the backend stands for, documented here
with the code itself, and the code is run by CI (tests/report/test_profiles.py: the
training script for real on images, the Databricks cell with ``spark``, ``dbutils``
and ``automl`` stood in by local equivalents), so a snippet that would not run fails
the build.  Lines are counted from the snippets: non-blank lines that are not
comments.  Deploy time and time to a first answer are measured, not described
(:mod:`cloudml_edu.measurements`).  See docs/reports.md.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROFILES", "BackendProfile", "profile_of"]


@dataclass(frozen=True)
class BackendProfile:
    """How a backend is used natively: the code a student writes and the steps to deploy."""

    backend: str
    service: str
    style: str
    user_code: str
    deployment: tuple[str, ...]
    inspect: str
    setup: tuple[str, ...] = ()

    @property
    def user_code_lines(self) -> int:
        """Non-blank, non-comment lines of :attr:`user_code`."""
        lines = (line.strip() for line in self.user_code.splitlines())
        return sum(1 for line in lines if line and not line.startswith("#"))

    @property
    def setup_steps(self) -> int:
        """How many things must exist before the first training run."""
        return len(self.setup)

    @property
    def deployment_steps(self) -> int:
        """How many actions it takes to serve the trained model."""
        return len(self.deployment)


_AZURE_ML_SETUP = (
    "sign in (az login) with a role on the workspace",
    "create or pick a compute cluster (or serverless)",
    "upload the images and register them as a data asset",
)

_AZURE_ML_DEPLOY = (
    "register the model (MLflow format)",
    "create the managed online endpoint",
    "create the deployment (instance type, count)",
    "route 100% of traffic to the deployment",
)

PROFILES: dict[str, BackendProfile] = {
    "designer": BackendProfile(
        backend="designer",
        service="Azure ML Designer (pipeline of registered v2 components)",
        style="low-code: drag six components onto the canvas and connect them",
        user_code="",
        deployment=_AZURE_ML_DEPLOY,
        inspect="every pipeline step: its parameters, inputs, outputs and timing",
        setup=(*_AZURE_ML_SETUP, "register the six components in the workspace"),
    ),
    "sdk": BackendProfile(
        backend="sdk",
        service="Azure ML Python SDK v2 (command job)",
        style="code-first: a training script plus a job submission",
        user_code="""\
# train.py: the training script the job runs
import argparse, os
import mlflow, numpy as np
from PIL import Image
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
parser = argparse.ArgumentParser()
parser.add_argument("--data")
args = parser.parse_args()
files = sorted(os.path.join(d, n) for d, _, names in os.walk(args.data) for n in names)
X = np.array([np.asarray(Image.open(f).convert("L").resize((16, 16))).ravel() / 255 for f in files])
y = [os.path.basename(os.path.dirname(f)) for f in files]  # the class folder
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)
with mlflow.start_run():  # inside an Azure ML job: the job's own run
    model = SVC(C=10, probability=True).fit(X_train, y_train)
    mlflow.log_metric("accuracy", model.score(X_test, y_test))
    mlflow.sklearn.log_model(model, "model")
# submit.py: run it as a command job
from azure.ai.ml import MLClient, Input, command
from azure.identity import DefaultAzureCredential
ml_client = MLClient.from_config(DefaultAzureCredential())
job = command(
    code="./src", command="python train.py --data ${{inputs.data}}",
    inputs={"data": Input(type="uri_folder", path="azureml:digits@latest")},
    environment="azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
    compute="cpu-cluster", experiment_name="cloudml-edu",
)
returned = ml_client.jobs.create_or_update(job)
ml_client.jobs.stream(returned.name)
""",
        deployment=_AZURE_ML_DEPLOY,
        inspect="one job: its command, exit code and full log",
        setup=_AZURE_ML_SETUP,
    ),
    "automl": BackendProfile(
        backend="automl",
        service="Databricks AutoML (classification on a feature table)",
        style="automated: featurize to a table, then one classify call",
        user_code="""\
# a notebook cell on a Databricks Runtime ML cluster; the images in a Unity Catalog volume
import os
import numpy as np, pandas as pd
from PIL import Image
from databricks import automl
root = "/Volumes/main/default/digits"  # volumes are plain folders on the cluster
rows = []
for folder, _, names in os.walk(root):  # every class folder, every image type
    for name in names:
        image = Image.open(os.path.join(folder, name)).convert("L").resize((16, 16))
        rows.append([*(np.asarray(image).ravel() / 255), os.path.basename(folder)])
columns = [f"p{i}" for i in range(256)] + ["label"]  # AutoML takes numeric columns
df = spark.createDataFrame(pd.DataFrame(rows, columns=columns))
summary = automl.classify(df, target_col="label", timeout_minutes=10)
print(summary.best_trial.model_path)
""",
        deployment=(
            "register the best trial's model in the model registry",
            "create the Model Serving endpoint",
        ),
        inspect="every trial: model family, hyperparameters, score and its MLflow run",
        setup=(
            "sign in to Databricks (a token, or Entra ID with a workspace user)",
            "start a single-user cluster on Databricks Runtime ML (<= 17.x)",
            "upload the images to a Unity Catalog volume",
        ),
    ),
}


def profile_of(backend: str) -> BackendProfile | None:
    """The profile of ``backend``, or None for a backend without one."""
    return PROFILES.get(backend)
