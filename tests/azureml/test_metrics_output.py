"""Reading a job's ``metrics`` output: found through run history, read from its blobs, checked.

The job here is added as if built in the studio (its outcome scripted), with files
placed where Azure ML keeps a job's output (``azureml/<job>/<output>/`` on the
default datastore); the twin-run jobs of tests/azureml/test_twin.py write theirs.
"""

from __future__ import annotations

from pathlib import Path

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


def _place(fake, job: str, name: str, data: bytes) -> None:
    fake.blobs[f"azureml-blobstore/azureml/{job}/metrics/{name}"] = data


def _read(fake, job: str, tmp_path: Path) -> Metrics | None:
    folder = service.download_output(fake.workspace, job, "metrics", tmp_path)
    return None if folder is None else service.metrics_in(folder, job=job)


def test_the_full_schema_is_read_from_the_output(mock_azure_ml, job, tmp_path, capfd):
    _place(mock_azure_ml, job, "metrics.json", FULL.artifact().encode())
    _place(mock_azure_ml, job, "misclassified/index.json", b"[]")
    assert _read(mock_azure_ml, job, tmp_path) == FULL
    kept = tmp_path / "named-outputs" / "metrics"
    assert (kept / "misclassified" / "index.json").read_bytes() == b"[]"
    # read from the datastore path, not invented: the blob was listed and fetched
    assert mock_azure_ml.sent("GET", f"/azureml/{job}/metrics/metrics.json")
    # azure-ai-ml's "Downloading artifact ... to /tmp/..." names a folder the user never sees
    assert "Downloading artifact" not in capfd.readouterr().err


def test_no_output_means_none_so_the_scalars_are_used(mock_azure_ml, job, tmp_path):
    assert service.download_output(mock_azure_ml.workspace, job, "metrics", tmp_path) is None


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("metrics.json", b'{"accuracy": "very good"}', "wrote a metrics.json the library cannot"),
        ("metrics.json", b"\xff\xfe not text", "wrote a metrics.json the library cannot"),
        ("predictions.csv", b"path,label\n", "wrote no metrics.json to its output"),
    ],
)
def test_an_unreadable_output_is_a_backend_error_naming_the_job(
    mock_azure_ml, job, tmp_path, name, data, match
):
    _place(mock_azure_ml, job, name, data)
    with pytest.raises(BackendError, match=rf"job handmade_job {match}"):
        _read(mock_azure_ml, job, tmp_path)


def test_an_unknown_job_is_not_found(mock_azure_ml, tmp_path):
    with pytest.raises(NotFoundError, match="download output metrics of job nobody"):
        service.download_output(mock_azure_ml.workspace, "nobody", "metrics", tmp_path)
