"""The designer backend: six registered components, one pipeline job, steps listed."""

from __future__ import annotations

from cloudml_edu import Dataset, Trainer


def test_designer_submits_pipeline_of_registered_components(mock_azure_ml, images):
    ws = mock_azure_ml.workspace
    ds = Dataset.from_folder(images, progress=False)
    run = Trainer("designer", workspace=ws, image_size=8).fit(ds)

    components = [r for r in mock_azure_ml.sent("PUT", "/components/")]
    assert sorted(r.path.split("/components/")[1].split("/")[0] for r in components) == sorted(
        f"cloudml_edu_{s}" for s in ("prepare", "split", "featurize", "train", "score", "evaluate")
    )
    (body,) = mock_azure_ml.jobs.values()
    props = body["properties"]
    assert props["jobType"] == "Pipeline"
    nodes = props["jobs"]
    assert list(nodes) == ["prepare", "split", "featurize", "train", "score", "evaluate"]
    split_inputs = nodes["split"]["inputs"]
    assert split_inputs["manifest"]["value"] == "${{parent.jobs.prepare.outputs.manifest}}"
    assert split_inputs["dataset"]["value"] == "${{parent.inputs.dataset}}"
    assert split_inputs["test_size"]["value"] == "0.2"
    assert "/components/cloudml_edu_train/versions/0.1.0-" in nodes["train"]["componentId"]
    # azure-ai-ml 1.35 sends serverless as an ARM id of compute "serverless"
    assert props["settings"]["default_compute"].endswith("/computes/serverless")
    assert props["inputs"]["dataset"]["jobInputType"] == "uri_folder"
    assert run.status == "Completed" and run.metrics is not None
    assert [s.name for s in run.steps] == [
        "prepare",
        "split",
        "featurize",
        "train",
        "score",
        "evaluate",
    ]
    assert all(s.url.startswith("https://ml.azure.com/runs/") for s in run.steps)

    before = len(mock_azure_ml.sent(contains="/components/"))
    second = Trainer("designer", workspace=ws, image_size=8).fit(ds)
    assert len(mock_azure_ml.sent(contains="/components/")) == before  # not even looked up
    body = mock_azure_ml.jobs[second.remote.name]["properties"]
    assert body["jobs"]["train"]["componentId"] == nodes["train"]["componentId"]
