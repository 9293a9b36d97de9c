"""Usability profiles: what each backend asks of a student on the real cloud service.

``compare`` reports *lines of user code* and *deployment steps* per backend.
They are not measured from a run: they describe the native service the backend
stands for, documented here with the code itself, so the numbers can be checked
(lines are counted from the snippets: non-blank lines that are not comments).
See docs/reports.md.
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

    @property
    def user_code_lines(self) -> int:
        """Non-blank, non-comment lines of :attr:`user_code`."""
        lines = (line.strip() for line in self.user_code.splitlines())
        return sum(1 for line in lines if line and not line.startswith("#"))

    @property
    def deployment_steps(self) -> int:
        """How many actions it takes to serve the trained model."""
        return len(self.deployment)


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
    ),
    "sdk": BackendProfile(
        backend="sdk",
        service="Azure ML Python SDK v2 (command job)",
        style="code-first: a training script plus a job submission",
        user_code="""\
# train.py: the training script the job runs
import argparse, glob, os
import joblib, mlflow, numpy as np
from PIL import Image
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
parser = argparse.ArgumentParser()
parser.add_argument("--data")
args = parser.parse_args()
files = sorted(glob.glob(os.path.join(args.data, "*", "*.png")))
X = np.array([np.asarray(Image.open(f).convert("L").resize((16, 16))).ravel() / 255 for f in files])
y = [os.path.basename(os.path.dirname(f)) for f in files]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)
mlflow.autolog()
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
    ),
    "automl": BackendProfile(
        backend="automl",
        service="Databricks AutoML (classification on a feature table)",
        style="automated: featurize to a table, then one classify call",
        user_code="""\
# a notebook cell on a Databricks Runtime ML cluster
import numpy as np, pandas as pd
from PIL import Image
from databricks import automl
files = dbutils.fs.ls("/Volumes/main/default/digits/")
rows = [(np.asarray(Image.open(f.path).resize((16, 16))).ravel().tolist(), f.path.split("/")[-2]) for f in files]
df = spark.createDataFrame(pd.DataFrame(rows, columns=["pixels", "label"]))
summary = automl.classify(df, target_col="label", timeout_minutes=10)
print(summary.best_trial.model_path)
""",
        deployment=(
            "register the best trial's model in the model registry",
            "create the Model Serving endpoint",
        ),
        inspect="every trial: model family, hyperparameters, score and its MLflow run",
    ),
}


def profile_of(backend: str) -> BackendProfile | None:
    """The profile of ``backend``, or None for a backend without one."""
    return PROFILES.get(backend)
