"""Workspace configuration: TOML plus environment, with errors that name the key and the fix."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cloudml_edu import ConfigError, Workspace
from cloudml_edu._secrets import redact
from cloudml_edu.config import load_config

FULL = """
owner = "group-7"
root = "ws"

[storage]
kind = "azure_blob"
account_name = "cloudmlstudents"
container = "lab-images"
account_key = "c2VjcmV0LWtleS1mb3ItdGVzdHM="

[azure_ml]
subscription_id = "00000000-0000-0000-0000-000000000000"
resource_group = "rg-course"
workspace_name = "mlw-course"

[databricks]
host = "https://adb-123.4.azuredatabricks.net/"
token = "dapi0123456789abcdef0123456789abcdef"

[powerbi]
group_id = "11111111-2222-3333-4444-555555555555"

[prices]
Standard_DS3_v2 = 0.25
"""


def test_a_full_config_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_text(FULL)
    config = load_config(path, environ={})
    assert config.owner == "group-7"
    assert config.root == (tmp_path / "ws").resolve()
    assert config.storage.container == "lab-images"
    assert config.azure_ml is not None and config.azure_ml.compute == "cpu-cluster"
    assert (
        config.databricks is not None
        and config.databricks.host == "https://adb-123.4.azuredatabricks.net"
    )
    assert config.prices == {"Standard_DS3_v2": 0.25}


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_text(FULL)
    env = {
        "CLOUDML_OWNER": "alice",
        "CLOUDML_STORAGE__CONTAINER": "other",
        "DATABRICKS_TOKEN": "dapi" + "f" * 32,
    }
    config = load_config(path, environ=env)
    assert config.owner == "alice"
    assert config.storage.container == "other"
    assert config.databricks is not None and config.databricks.token is not None
    assert config.databricks.token.get_secret_value() == "dapi" + "f" * 32


def test_secrets_never_show_in_reprs_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_text(FULL)
    config = load_config(path, environ={})
    key = "c2VjcmV0LWtleS1mb3ItdGVzdHM="
    assert key not in repr(config) and key not in str(config.storage)
    ws = Workspace(config)
    assert key not in repr(ws)
    with caplog.at_level(logging.DEBUG, logger="azure.core.pipeline"):
        logging.getLogger("azure.core.pipeline").debug(
            "header Authorization: SharedKey acct:%s", key
        )
        logging.getLogger("cloudml_edu.x").info(
            "url https://a.blob.core.windows.net/c?sv=1&sig=abc%2Fdef"
        )
    assert key not in caplog.text
    assert "sig=abc" not in caplog.text
    assert "***" in caplog.text
    assert redact("AccountKey=xyz;EndpointSuffix=core") == "AccountKey=***;EndpointSuffix=core"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            '[storage]\ncontainer = "Bad_Name"',
            "[storage] container: 'Bad_Name' is not a valid container name",
        ),
        ('[storage]\naccount_name = "Has-Dash"', "[storage] account_name"),
        ('[azure_ml]\nsubscription_id = "x"', "[azure_ml] resource_group: is required"),
        ('[databricks]\nhost = "adb-1.net"', "must start with https://"),
        ('owner = "no spaces please"', "owner"),
        ('[storage]\ncontaner = "x"', "[storage] contaner: is not a known setting"),
    ],
)
def test_validation_errors_name_the_key_and_the_fix(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert fragment in str(caught.value)
    assert "CLOUDML_" in str(caught.value)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Workspace\.local"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("owner = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_local_workspace_layout(tmp_path: Path) -> None:
    ws = Workspace.local(tmp_path / "ws", owner="bob")
    assert ws.is_local and ws.owner == "bob" and ws.schema == "cloudml_bob"
    assert ws.tracking_uri == f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}"
    assert ws.store.url.startswith("file://")
    assert ws.endpoints_dir.is_dir() and ws.runs_dir.is_dir()
    with pytest.raises(ConfigError, match="owner"):
        Workspace.local(tmp_path / "x", owner="not valid!")


@pytest.mark.parametrize("wrong", [".cloudml", Path("cloudml.toml"), 3])
def test_a_workspace_argument_that_is_not_a_workspace_says_how_to_make_one(
    wrong: object, tmp_path: Path
) -> None:
    from cloudml_edu.workspace import resolve_workspace

    with pytest.raises(ConfigError, match=r"workspace= takes a Workspace.*Workspace\.local"):
        resolve_workspace(wrong)  # type: ignore[arg-type]
