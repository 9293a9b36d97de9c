"""Datasets as hive metastore tables through the SQL Statement Execution API (fake workspace)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudml_edu import Dataset
from cloudml_edu.errors import BackendError, ConfigError, NotFoundError
from cloudml_edu.testing.databricks import FakeDatabricks

pytestmark = pytest.mark.azurite  # hive metastore tables read abfss:// (Azurite)


def test_register_creates_schema_and_external_table(
    mock_databricks: FakeDatabricks, tiny_dir: Path
) -> None:
    ws = mock_databricks.workspace
    name = Dataset.from_folder(tiny_dir, name="shapes").register(ws)
    assert name == "hive_metastore.cloudml_tester.shapes"
    schema, drop, create = mock_databricks.statements
    assert schema.startswith("CREATE SCHEMA IF NOT EXISTS hive_metastore.cloudml_tester")
    assert drop == "DROP TABLE IF EXISTS hive_metastore.cloudml_tester.shapes"
    container = ws.config.storage.container
    assert create.startswith(
        "CREATE TABLE IF NOT EXISTS hive_metastore.cloudml_tester.shapes USING PARQUET "
        f"LOCATION 'abfss://{container}@devstoreaccount1.dfs.core.windows.net/tester/shapes/1/shards'"
    )
    assert "'cloudml.owner' = 'tester'" in create and "'cloudml.images' = '24'" in create
    body = mock_databricks.sent("POST", "/api/2.0/sql/statements")[0].body
    assert body["warehouse_id"] == mock_databricks.warehouse_id
    assert body["wait_timeout"] == "10s" and body["on_wait_timeout"] == "CONTINUE"
    # the shards the table reads are really in the container
    assert any(
        o.key.startswith("tester/shapes/1/shards/") for o in ws.store.list("tester/shapes/1/")
    )


def test_load_and_list_read_the_table(mock_databricks: FakeDatabricks, tiny_dir: Path) -> None:
    ws = mock_databricks.workspace
    Dataset.from_folder(tiny_dir, name="shapes").register(ws)
    loaded = Dataset.load(ws, "shapes")
    assert len(loaded) == 24 and loaded.manifest.layout == "parquet"
    assert (
        mock_databricks.statements[-1] == "SHOW TBLPROPERTIES hive_metastore.cloudml_tester.shapes"
    )
    from cloudml_edu.backends import table_catalog

    entries = table_catalog(ws).list()
    assert [e.full_name for e in entries] == ["hive_metastore.cloudml_tester.shapes"]
    with pytest.raises(NotFoundError, match="version 1, not 2"):
        Dataset.load(ws, "shapes", version="2")
    with pytest.raises(NotFoundError, match="does not exist"):
        Dataset.load(ws, "circles")
    table_catalog(ws).delete("shapes", version="1", schema=ws.schema)
    assert (
        mock_databricks.statements[-1]
        == "DROP TABLE IF EXISTS hive_metastore.cloudml_tester.shapes"
    )
    assert mock_databricks.tables == {}


def test_failed_statement_is_a_backend_error_with_the_sql_error(
    mock_databricks: FakeDatabricks, tiny_dir: Path
) -> None:
    mock_databricks.fail_statement(r"^CREATE SCHEMA", "[PARSE_SYNTAX_ERROR] Syntax error at 'x'")
    with pytest.raises(BackendError, match="PARSE_SYNTAX_ERROR"):
        Dataset.from_folder(tiny_dir, name="shapes").register(mock_databricks.workspace)


def test_storage_access_failure_says_what_to_grant(
    mock_databricks: FakeDatabricks, tiny_dir: Path
) -> None:
    mock_databricks.fail_statement(
        r"^CREATE TABLE",
        "Failure to initialize configuration for storage account devstoreaccount1.dfs.core."
        "windows.net: Invalid configuration value detected for fs.azure.account.key",
    )
    with pytest.raises(ConfigError, match="Storage Blob Data Reader"):
        Dataset.from_folder(tiny_dir, name="shapes").register(mock_databricks.workspace)


def test_without_a_warehouse_the_local_catalog_is_used(
    mock_databricks: FakeDatabricks, tiny_dir: Path
) -> None:
    from cloudml_edu import Workspace

    ws = mock_databricks.workspace
    settings = ws.config.databricks
    assert settings is not None
    local = Workspace(
        ws.config.model_copy(
            update={"databricks": settings.model_copy(update={"warehouse_id": None})}
        )
    )
    Dataset.from_folder(tiny_dir, name="shapes").register(local)
    assert mock_databricks.statements == []
    assert [e.full_name for e in local.catalog.list()] == ["hive_metastore.cloudml_tester.shapes"]


def test_cli_list_and_delete_use_the_tables(
    mock_databricks: FakeDatabricks, tiny_dir: Path, config_file: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from cloudml_edu.cli import app

    Dataset.from_folder(tiny_dir, name="shapes").register(mock_databricks.workspace)
    runner = CliRunner()
    listed = runner.invoke(app, ["dataset", "list", "--config", str(config_file), "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)[0]["table"] == "hive_metastore.cloudml_tester.shapes"
    deleted = runner.invoke(
        app, ["dataset", "delete", "shapes", "--config", str(config_file), "--json"]
    )
    assert deleted.exit_code == 0, deleted.output
    assert "DROP TABLE IF EXISTS hive_metastore.cloudml_tester.shapes" in mock_databricks.statements
    assert mock_databricks.tables == {}


def test_cli_train_plan_on_databricks_sends_nothing(
    mock_databricks: FakeDatabricks, tiny_dir: Path, config_file: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from cloudml_edu.cli import app

    args = ["train", str(tiny_dir), "--backend", "automl", "--plan", "--config", str(config_file)]
    done = CliRunner().invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    plan = json.loads(done.output)
    assert plan["target"] == "databricks" and plan["estimated_cost_usd"] > 0
    assert mock_databricks.requests == []
    assert mock_databricks.token not in done.output
