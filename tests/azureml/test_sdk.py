"""The sdk backend against the fake: bodies sent, reuse, plan, and every failure typed."""

from __future__ import annotations

import pytest

from cloudml_edu import Dataset, Trainer
from cloudml_edu.errors import AuthError, BackendError, NotFoundError, QuotaError, ThrottledError


@pytest.fixture
def ds(images):
    return Dataset.from_folder(images, progress=False)


def test_command_job_body(mock_azure_ml, ds):
    from cloudml_edu.backends.azureml.environment import JOB_ENVIRONMENT

    run = Trainer("sdk", workspace=mock_azure_ml.workspace, image_size=8).fit(ds)
    ((name, body),) = mock_azure_ml.jobs.items()
    props = body["properties"]
    assert props["jobType"] == "Command"
    assert props["command"].startswith("python -m cloudml_edu.training --data ${{inputs.data}}")
    assert "--image-size 8" in props["command"]
    assert "--model-out ${{outputs.model}}" in props["command"]
    assert props["outputs"]["model"]["jobOutputType"] == "mlflow_model"
    assert "computeId" not in props  # serverless: the student's role needs no compute
    assert props["identity"]["identityType"] == "UserIdentity"  # data read as the student
    assert props["environmentId"].endswith(
        f"/environments/{JOB_ENVIRONMENT.name}/versions/{JOB_ENVIRONMENT.version}"
    )
    assert mock_azure_ml.sent("PUT", f"/environments/{JOB_ENVIRONMENT.name}/versions/")
    assert props["inputs"]["data"]["jobInputType"] == "uri_folder"
    assert "/data/student-images/versions/" in props["inputs"]["data"]["uri"]
    assert props["tags"]["cloudml.owner"] == "student"
    assert run.remote is not None and run.remote.name == name
    assert run.remote.url.startswith("https://ml.azure.com/runs/")
    assert run.metrics is not None and run.metrics.compute.node_hours > 0
    assert run.metrics.cost_usd > 0


def test_a_cluster_is_created_with_min_zero_nodes(with_cluster, ds):
    Trainer("sdk", workspace=with_cluster.workspace, image_size=8).fit(ds)
    (body,) = with_cluster.jobs.values()
    assert body["properties"]["computeId"].endswith("/workspaces/ws-course/computes/cpu-cluster")
    compute = with_cluster.sent("PUT", "/computes/cpu-cluster")[0].body["properties"]
    assert compute["properties"]["scaleSettings"]["minNodeCount"] == 0


def test_the_student_role_cannot_create_a_cluster(mock_azure_ml, ds):
    mock_azure_ml.settings["serverless"] = False  # AzureML Data Scientist only
    with pytest.raises(AuthError, match="cannot create or delete compute") as caught:
        Trainer("sdk", workspace=mock_azure_ml.workspace).fit(ds)
    assert "serverless = true" in str(caught.value) and "AuthorizationFailed" in str(caught.value)
    assert mock_azure_ml.jobs == {}


def test_second_fit_uploads_nothing_and_reuses_assets(mock_azure_ml, ds):
    ws = mock_azure_ml.workspace
    Trainer("sdk", workspace=ws).fit(ds)
    uploaded, sent = mock_azure_ml.uploaded_bytes, len(mock_azure_ml.requests)
    Trainer("sdk", workspace=ws).fit(ds)
    assert mock_azure_ml.uploaded_bytes == uploaded
    second = mock_azure_ml.requests[sent:]
    assert [r for r in second if r.method == "PUT"] == [
        r for r in second if r.method == "PUT" and "/jobs/" in r.path
    ]
    # what this folder remembers is not asked again: the submission is the plain script's
    # code lookup by hash, code GET and job PUT
    job_put = next(i for i, r in enumerate(second) if r.method == "PUT")
    submission = [
        (r.method, r.path.split("/workspaces/ws-course/")[1]) for r in second[: job_put + 1]
    ]
    assert [(m, p.split("/")[0]) for m, p in submission] == [
        ("GET", "codes"),
        ("GET", "codes"),
        ("PUT", "jobs"),
    ]


def test_a_cluster_deleted_since_is_recreated(with_cluster, mock_azure_ml, ds):
    ws = mock_azure_ml.workspace
    Trainer("sdk", workspace=ws).fit(ds)
    del mock_azure_ml.resources["computes/cpu-cluster"]  # deleted in the studio
    mock_azure_ml.fail(
        "PUT", "/jobs/", 400, code="UserError", message="Compute cpu-cluster not found"
    )
    sent = len(mock_azure_ml.requests)
    run = Trainer("sdk", workspace=ws).fit(ds)
    assert run.status == "Completed"
    second = [(r.method, r.path.rsplit("/", 1)[-1]) for r in mock_azure_ml.requests[sent:]]
    refused = second.index(("PUT", run.remote.name))  # the same job name, submitted twice
    assert ("GET", "cpu-cluster") in second[refused:]
    assert ("PUT", "cpu-cluster") in second[refused:]
    assert second.count(("PUT", run.remote.name)) == 2


def test_plan_sends_nothing(mock_azure_ml, ds):
    plan = Trainer("sdk", workspace=mock_azure_ml.workspace).plan(ds)
    assert mock_azure_ml.requests == []
    assert plan.target == "azureml" and plan.estimated_cost_usd > 0
    assert plan.steps[-1].detail["body"]["properties"]["jobType"] == "Command"


def test_backend_options_reach_the_job(mock_azure_ml, ds):
    trainer = Trainer("sdk", workspace=mock_azure_ml.workspace, backend_options={"shm_size": "2g"})
    trainer.fit(ds)
    (body,) = mock_azure_ml.jobs.values()
    assert body["properties"]["resources"]["shmSize"] == "2g"


def test_failed_job_raises_backend_error_with_its_message(mock_azure_ml, ds):
    mock_azure_ml.script_job(error="MemoryError: the cluster ran out of memory")
    with pytest.raises(BackendError, match="ran out of memory") as caught:
        Trainer("sdk", workspace=mock_azure_ml.workspace).fit(ds)
    assert "https://ml.azure.com/runs/" in str(caught.value)


def test_401_is_auth_error_and_no_job_left(mock_azure_ml, ds):
    mock_azure_ml.fail("GET", "/data/", 401, message="token expired")
    with pytest.raises(AuthError, match="az login"):
        Trainer("sdk", workspace=mock_azure_ml.workspace).fit(ds)
    assert mock_azure_ml.jobs == {}


def test_unknown_workspace_is_not_found(mock_azure_ml, ds):
    mock_azure_ml.fail("GET", "/data/", 404, code="ResourceNotFound", message="no workspace")
    mock_azure_ml.fail("PUT", "/data/", 404, code="ResourceNotFound", message="no workspace")
    with pytest.raises(NotFoundError, match="workspace_name"):
        Trainer("sdk", workspace=mock_azure_ml.workspace).fit(ds)
    assert mock_azure_ml.jobs == {}


def test_429_retried_within_bound(mock_azure_ml, ds):
    mock_azure_ml.fail("PUT", "/jobs/", 429, times=2, headers={"Retry-After": "0"})
    run = Trainer("sdk", workspace=mock_azure_ml.workspace).fit(ds)
    assert run.status == "Completed"
    assert len(mock_azure_ml.sent("PUT", "/jobs/")) == 3


def test_429_forever_is_throttled(mock_azure_ml, ds):
    mock_azure_ml.fail("PUT", "/jobs/", 429, times=99, headers={"Retry-After": "0"})
    with pytest.raises(ThrottledError):
        Trainer("sdk", workspace=mock_azure_ml.workspace).fit(ds)
    assert len(mock_azure_ml.sent("PUT", "/jobs/")) == 4  # 1 + retry_total 3


def test_quota_exceeded_is_quota_error(with_cluster, mock_azure_ml, ds):
    mock_azure_ml.fail(
        "PUT", "/computes/", 400, code="QuotaExceeded", message="Not enough cores quota"
    )
    with pytest.raises(QuotaError, match="cleanup"):
        Trainer("sdk", workspace=mock_azure_ml.workspace).fit(ds)
    assert mock_azure_ml.jobs == {}


def test_ctrl_c_while_waiting_offers_cancel(mock_azure_ml, ds, monkeypatch):
    import cloudml_edu._polling as polling

    mock_azure_ml.script_job(statuses=["Queued", "Running"])
    poller = Trainer("sdk", workspace=mock_azure_ml.workspace)._backend.begin_fit(ds)
    calls = {"n": 0}
    real_done = poller.done

    def interrupted() -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_done()

    monkeypatch.setattr(poller, "done", interrupted)
    monkeypatch.setattr(polling, "_confirm", lambda question: True)
    with pytest.raises(KeyboardInterrupt):
        poller.result(timeout=60)
    (cancel,) = mock_azure_ml.sent("POST", "/cancel")
    assert cancel.path.endswith(f"/jobs/{poller.value.remote.name}/cancel")


def test_data_read_with_the_students_identity_needs_blob_reader(mock_azure_ml, ds):
    mock_azure_ml.storage_roles.clear()
    with pytest.raises(BackendError, match="AuthorizationPermissionMismatch") as caught:
        Trainer("sdk", workspace=mock_azure_ml.workspace).fit(ds)
    assert "Storage Blob Data Reader" in str(caught.value)
