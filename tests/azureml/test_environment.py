"""The job environment: the local lab's versions, and pins that resolve together (the twin)."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from cloudml_edu.backends.azureml.environment import JOB_ENVIRONMENT, conda_file, environment_id


@pytest.mark.parametrize(
    "package", ["numpy", "pillow", "scikit-learn", "scipy", "joblib", "pydantic", "filelock"]
)
def test_pins_are_the_local_labs(package: str) -> None:
    """A model trained in the cloud loads here: the same scikit-learn, numpy, Pillow..."""
    assert JOB_ENVIRONMENT.pinned(package) == version(package)


def test_mlflow_2_for_azure_tracking_and_python_311() -> None:
    assert JOB_ENVIRONMENT.python == "3.11"
    assert (JOB_ENVIRONMENT.pinned("mlflow-skinny") or "").startswith("2.")
    assert JOB_ENVIRONMENT.pinned("azureml-mlflow")
    conda = conda_file()
    assert conda["dependencies"][0] == "python=3.11"
    assert conda["dependencies"][2]["pip"] == list(JOB_ENVIRONMENT.pins)
    assert environment_id() == f"azureml:cloudml-edu-job:{JOB_ENVIRONMENT.digest}"
