"""Databricks says no the way Databricks does, and the library answers each refusal in one line
naming the fix and who makes it, before anything billed starts where it can."""

from __future__ import annotations

import pytest

from cloudml_edu import Dataset, Trainer
from cloudml_edu.errors import AuthError, ConfigError
from cloudml_edu.testing.databricks import FakeDatabricks

SUBMIT = "/api/2.2/jobs/runs/submit"


def _one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def test_legacy_registry_disabled_is_refused_before_anything_runs(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    mock_databricks.legacy_registry = False
    ws = mock_databricks.configure(registry="workspace")
    with pytest.raises(ConfigError) as caught:
        Trainer("automl", workspace=ws, timeout_minutes=5).fit(shapes)
    text = _one_line(caught)
    assert "Workspace Model Registry disabled" in text and "Unity Catalog" in text
    assert "(you)" in text
    assert mock_databricks.sent("POST", SUBMIT) == [] and mock_databricks.sent("PUT") == []


def test_the_legacy_registry_by_option_registers_a_two_level_name(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    ws = mock_databricks.configure(registry="workspace")
    plan = Trainer("automl", workspace=ws, timeout_minutes=5).plan(shapes)
    task = plan.steps[-1].detail["POST /api/2.2/jobs/runs/submit"]["tasks"][0]
    params = task["spark_python_task"]["parameters"]
    flags = dict(zip(params[::2], params[1::2], strict=True))
    assert flags["--registry-uri"] == "databricks"
    assert flags["--model-name"] == "cloudml_tester_shapes"


def test_missing_privileges_name_the_grant_and_the_admin(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    mock_databricks.unity.privileges[("catalog", "main")] = {"USE_CATALOG"}
    with pytest.raises(ConfigError) as caught:
        Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5).fit(shapes)
    text = _one_line(caught)
    assert "lacks CREATE SCHEMA on Unity Catalog catalog main" in text
    assert "workspace admin" in text and "GRANT CREATE SCHEMA ON CATALOG main TO" in text
    assert mock_databricks.sent("POST", SUBMIT) == [] and mock_databricks.sent("PUT") == []


def test_a_schema_without_create_model_is_refused(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    unity = mock_databricks.unity
    unity.schemas.add("main.cloudml_tester")
    unity.privileges[("schema", "main.cloudml_tester")] = {"USE_SCHEMA", "READ_VOLUME"}
    with pytest.raises(ConfigError) as caught:
        Trainer("automl", workspace=mock_databricks.workspace, timeout_minutes=5).fit(shapes)
    text = _one_line(caught)
    assert "CREATE MODEL" in text and "WRITE VOLUME" in text
    assert "ON SCHEMA main.cloudml_tester" in text


def test_a_catalog_that_does_not_exist(mock_databricks: FakeDatabricks, shapes: Dataset) -> None:
    ws = mock_databricks.configure(catalog="nope")
    with pytest.raises(ConfigError, match=r"no catalog 'nope' you can see.*\[databricks\] catalog"):
        Trainer("automl", workspace=ws, timeout_minutes=5).fit(shapes)


def test_a_plain_key_in_spark_settings_is_refused_and_settings_merge_deeply(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    key = "fs.azure.account.key.students.dfs.core.windows.net"
    plain = Trainer(
        "automl",
        workspace=mock_databricks.workspace,
        backend_options={"new_cluster": {"spark_conf": {key: "c2VjcmV0a2V5"}}},
    )
    with pytest.raises(ConfigError) as caught:
        plain.plan(shapes)
    text = _one_line(caught)
    assert "plain secret" in text and "{{secrets/<scope>/<key>}}" in text
    assert "c2VjcmV0a2V5" not in text
    referenced = Trainer(
        "automl",
        workspace=mock_databricks.workspace,
        backend_options={"new_cluster": {"spark_conf": {key: "{{secrets/course/storage}}"}}},
    )
    body = referenced.plan(shapes).steps[-1].detail["POST /api/2.2/jobs/runs/submit"]
    conf = body["tasks"][0]["new_cluster"]["spark_conf"]
    assert conf[key] == "{{secrets/course/storage}}"
    assert conf["spark.databricks.cluster.profile"] == "singleNode"  # kept by the deep merge
    assert conf["spark.master"] == "local[*, 4]"


def test_an_unknown_runtime_is_refused(mock_databricks: FakeDatabricks, shapes: Dataset) -> None:
    with pytest.raises(ConfigError, match=r"18\.0 ML"):
        Trainer("automl", workspace=mock_databricks.configure(runtime="18.0-ml"))


@pytest.mark.azurite
def test_a_cluster_without_storage_access_is_refused_before_submitting(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    ws = mock_databricks.configure(features="hive_metastore")
    with pytest.raises(ConfigError) as caught:
        Trainer("automl", workspace=ws, timeout_minutes=5).fit(shapes)
    text = _one_line(caught)
    assert "no credentials for storage account devstoreaccount1" in text
    assert "secret scope" in text and 'features = "volume"' in text
    assert mock_databricks.sent("POST", SUBMIT) == [] and mock_databricks.statements == []


@pytest.mark.azurite
@pytest.mark.parametrize(
    ("switch", "says", "who"),
    [
        ("hive_metastore", "hive_metastore (legacy access) disabled", "account admin"),
        ("any_file", "GRANT SELECT, MODIFY ON ANY FILE TO", "workspace admin"),
    ],
)
def test_a_refused_table_registration_names_who_fixes_it(
    mock_databricks: FakeDatabricks, shapes: Dataset, switch: str, says: str, who: str
) -> None:
    setattr(mock_databricks, switch, False)
    with pytest.raises(ConfigError) as caught:
        shapes.register(mock_databricks.workspace)
    text = _one_line(caught)
    assert says in text and who in text


@pytest.mark.azurite
@pytest.mark.parametrize("first", ["STOPPED", "STARTING"])
def test_a_stopped_or_starting_warehouse_is_awaited_not_run_into(
    mock_databricks: FakeDatabricks, shapes: Dataset, first: str
) -> None:
    mock_databricks.script_warehouse(first, "STARTING", "RUNNING")
    name = shapes.register(mock_databricks.workspace)
    assert name == "hive_metastore.cloudml_tester.shapes"
    assert mock_databricks.sql.started == (1 if first == "STOPPED" else 0)
    reads = mock_databricks.sent("GET", "/api/2.0/sql/warehouses/")
    assert len(reads) >= 2  # waited until RUNNING before the first statement
    assert len(mock_databricks.statements) == 3


@pytest.mark.azurite
def test_a_warehouse_the_student_may_not_start(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    mock_databricks.script_warehouse("STOPPED")
    mock_databricks.fail("POST", "/api/2.0/sql/warehouses/.*/start", 403)
    with pytest.raises(AuthError) as caught:  # a 403 is an AuthError on every target
        shapes.register(mock_databricks.workspace)
    assert "ask a workspace admin for CAN USE" in _one_line(caught)
    assert mock_databricks.statements == []


@pytest.mark.azurite
@pytest.mark.slow
def test_the_labs_hive_metastore_path_runs_with_a_secret_reference(
    mock_databricks: FakeDatabricks, shapes: Dataset
) -> None:
    key = "fs.azure.account.key.devstoreaccount1.dfs.core.windows.net"
    ws = mock_databricks.configure(features="hive_metastore")
    run = Trainer(
        "automl",
        workspace=ws,
        timeout_minutes=5,
        backend_options={"new_cluster": {"spark_conf": {key: "{{secrets/course/storage}}"}}},
    ).fit(shapes)
    assert run.status == "Completed" and run.model == "models:/main.cloudml_tester.shapes/1"
    (create,) = [s for s in mock_databricks.statements if s.startswith("CREATE TABLE")]
    assert "hive_metastore.cloudml_tester.shapes_features_" in create
    assert mock_databricks.sent("PUT", "/api/2.0/fs/files/") == []  # no volume in this mode
