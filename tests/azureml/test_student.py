"""The student's test from the issue, verbatim apart from the image folder's path."""

from __future__ import annotations

from cloudml_edu import Dataset, Trainer


def test_my_pipeline(tmp_path, mock_azure_ml, images, monkeypatch):
    monkeypatch.chdir(images.parent)
    ws = mock_azure_ml.workspace
    ds = Dataset.from_folder("images/").upload(ws)
    run = Trainer("sdk", workspace=ws).fit(ds)
    assert run.target == "azureml" and run.metrics.accuracy >= 0
    assert [j["properties"]["jobType"] for j in mock_azure_ml.jobs.values()] == ["Command"]
