"""Reading a job's ``metrics`` output: found through run history, read from its blobs, checked.

The job here is added as if built in the studio (its outcome scripted), with files
placed where Azure ML keeps a job's output (``azureml/<job>/<output>/`` on the
default datastore); the twin-run jobs of tests/azureml/test_twin.py write theirs.
"""

from __future__ import annotations

import pytest

from cloudml_edu.backends.azureml import service
from cloudml_edu.errors import BackendError, NotFoundError
from cloudml_edu.metrics import Metrics

FULL = Metrics(
    accuracy=0.75,
    n_train=12,
    n_test=4,
    labels=["cat", "dog"],
    confusion_matrix=[[2, 0], [1, 1]],
)


@pytest.fixture
def job(mock_azure_ml) -> str:
    mock_azure_ml.add_job("handmade_job", command="python train.py")
    return "handmade_job"


def _place(fake, job: str, data: bytes) -> None:
    fake.blobs[f"azureml-blobstore/azureml/{job}/metrics/metrics.json"] = data


def test_the_full_schema_is_read_from_the_output(mock_azure_ml, job, capfd):
    _place(mock_azure_ml, job, FULL.artifact().encode())
    found = service.read_metrics_output(mock_azure_ml.workspace, job, "metrics")
    assert found == FULL
    # azure-ai-ml's "Downloading artifact ... to /tmp/..." names a folder the user never sees
    assert "Downloading artifact" not in capfd.readouterr().err
    # read from the datastore path, not invented: the blob was listed and fetched
    assert mock_azure_ml.sent("GET", f"/azureml/{job}/metrics/metrics.json")


def test_no_output_means_none_so_the_scalars_are_used(mock_azure_ml, job):
    assert service.read_metrics_output(mock_azure_ml.workspace, job, "metrics") is None


def test_an_unreadable_file_is_a_backend_error_naming_the_job(mock_azure_ml, job):
    _place(mock_azure_ml, job, b'{"accuracy": "very good"}')
    with pytest.raises(BackendError, match=r"job handmade_job wrote a metrics.json the library"):
        service.read_metrics_output(mock_azure_ml.workspace, job, "metrics")


def test_an_unknown_job_is_not_found(mock_azure_ml):
    with pytest.raises(NotFoundError, match="download output metrics of job nobody"):
        service.read_metrics_output(mock_azure_ml.workspace, "nobody", "metrics")
