"""Fixtures of the Databricks tests: a cloudml.toml pointing at the fake workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudml_edu.testing.databricks import FakeDatabricks


@pytest.fixture
def config_file(mock_databricks: FakeDatabricks, tmp_path: Path) -> Path:
    """A cloudml.toml for the CLI: the fake workspace's root, Azurite storage, the fake host."""
    ws = mock_databricks.workspace
    storage = ws.config.storage
    assert storage.connection_string is not None
    path = tmp_path / "cloudml.toml"
    path.write_text(
        f'owner = "tester"\nroot = "{ws.root}"\n[storage]\nkind = "azure_blob"\n'
        f'container = "{storage.container}"\n'
        f'connection_string = "{storage.connection_string.get_secret_value()}"\n'
        f'[databricks]\nhost = "{mock_databricks.host}"\ntoken = "{mock_databricks.token}"\n'
        f'warehouse_id = "{mock_databricks.warehouse_id}"\n'
    )
    return path
