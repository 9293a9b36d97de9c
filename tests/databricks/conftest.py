"""Fixtures of the Databricks tests: datasets, a model trained once through the fake, a cloudml.toml."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudml_edu import Dataset
from cloudml_edu.testing.databricks import FakeDatabricks
from shape_images import write_shapes

MODEL_NAME = "main.cloudml_tester.shapes"


@pytest.fixture
def shapes(tiny_dir: Path) -> Dataset:
    return Dataset.from_folder(tiny_dir, name="shapes")


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real AutoML fit through a fake workspace (task run in the runtime twin), done once per
    session: its registry folder, holding ``main.cloudml_tester.shapes`` version 1."""
    from cloudml_edu import Trainer
    from cloudml_edu.testing.databricks import fake_databricks
    from cloudml_edu.testing.twins import cache_root

    base = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("DATABRICKS_", "CLOUDML_DATABRICKS__")):
                patch.delenv(name)
        patch.setenv("CLOUDML_TWIN_CACHE", str(cache_root()))
        patch.setenv("PYENV_ROOT", os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv")))
        patch.setenv("HOME", str(base))
        with fake_databricks(base / "workspace") as fake:
            images = write_shapes(base / "shapes")
            Trainer("automl", workspace=fake.workspace, timeout_minutes=5).fit(
                Dataset.from_folder(images, name="shapes")
            )
    yield fake.registry_root  # the models' files stay under base for the session


@pytest.fixture
def registered(mock_databricks: FakeDatabricks, trained: Path) -> str:
    """``mock_databricks`` with the session's trained model registered; its ``models:/`` URI."""
    shutil.copytree(trained, mock_databricks.registry_root, dirs_exist_ok=True)
    return f"models:/{MODEL_NAME}/1"


@pytest.fixture
def config_file(mock_databricks: FakeDatabricks, tmp_path: Path) -> Path:
    """A cloudml.toml for the CLI: the fake workspace's root, its storage, the fake host."""
    ws = mock_databricks.workspace
    storage = ws.config.storage
    lines = [f'owner = "tester"\nroot = "{ws.root}"\n']
    if storage.connection_string is not None:
        lines.append(
            f'[storage]\nkind = "azure_blob"\ncontainer = "{storage.container}"\n'
            f'connection_string = "{storage.connection_string.get_secret_value()}"\n'
        )
    lines.append(
        f'[databricks]\nhost = "{mock_databricks.host}"\ntoken = "{mock_databricks.token}"\n'
        f'warehouse_id = "{mock_databricks.warehouse_id}"\n'
    )
    path = tmp_path / "cloudml.toml"
    path.write_text("".join(lines))
    return path
