"""The Azure ML job environment: the one place that says what every job and component runs on.

The library registers its own environment (image + conda file with these exact
pins) once per content digest, instead of the curated ``sklearn-1.5`` image:
that image runs Python 3.10 with numpy 1.22 and no Pillow or pydantic, so the
training code (3.11+) dies at import there.  Python 3.11 and the local lab's
numpy/pandas/Pillow/scikit-learn pins mean a model trained in the cloud loads
here; ``mlflow-skinny`` 2.x with ``azureml-mlflow`` is what Azure ML's tracking
server supports (MLflow 3 logs models through ``/api/2.0/mlflow/logged-models``,
which Azure ML answers 404).  The offline twin (``mock_azure_ml``) is built from
the same spec, so a job that runs in the fake runs on the service.
"""

from __future__ import annotations

from typing import Any

from cloudml_edu.environments import EnvironmentSpec

__all__ = ["BASE_IMAGE", "ENVIRONMENT_NAME", "JOB_ENVIRONMENT", "conda_file", "environment_id"]

ENVIRONMENT_NAME = "cloudml-edu-job"
#: Azure ML's own Ubuntu base image (what the curated sklearn images build on).
BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"

#: Python 3.11 and exact pins; numpy, Pillow, scikit-learn, scipy, joblib and pydantic are
#: the local lab's versions (a test checks it).  pandas stays on 2.x: with pandas 3, MLflow
#: 2.22 cannot enforce the model's string signature ("Can not safely convert str to <U0"),
#: found by running the job in the twin.
JOB_ENVIRONMENT = EnvironmentSpec(
    name=ENVIRONMENT_NAME,
    python="3.11",
    pins=(
        "numpy==2.4.6",
        "pandas==2.3.3",  # MLflow 2's schema enforcement refuses pandas 3's string columns
        "pillow==13.0.0",
        "scikit-learn==1.9.1",
        "scipy==1.17.1",
        "joblib==1.6.0",
        "pydantic==2.14.4",
        "pyarrow==25.0.1",
        "rich==15.0.0",
        "pyyaml==6.0.4",
        "filelock==4.3.2",  # the snapshot's _locks (the twin found it missing after a merge)
        "mlflow-skinny==2.22.5",
        "azureml-mlflow==1.62.0.post6",
    ),
    source="cloudml-edu: the local lab's pins; mlflow<3 for Azure ML tracking "
    "(Azure/azure-sdk-for-python#44896)",
    image=BASE_IMAGE,
)


def conda_file(spec: EnvironmentSpec = JOB_ENVIRONMENT) -> dict[str, Any]:
    """The conda specification Azure ML builds the image from: the Python version, pip, the pins."""
    return {
        "name": spec.name,
        "channels": ["conda-forge"],
        "dependencies": [f"python={spec.python}", "pip", {"pip": list(spec.pins)}],
    }


def environment_id(spec: EnvironmentSpec = JOB_ENVIRONMENT) -> str:
    """``azureml:<name>:<digest>``: how jobs and components refer to the registered environment."""
    return f"azureml:{spec.name}:{spec.version}"
