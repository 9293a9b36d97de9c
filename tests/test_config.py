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
        ("[azure_ml]\nmax_instances = 0", "[azure_ml] max_instances"),
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


def test_environment_counts_without_a_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cloudml_edu.cli._common import workspace_from_option

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLOUDML_CONFIG", raising=False)
    monkeypatch.setenv("CLOUDML_OWNER", "alice")
    monkeypatch.setenv("CLOUDML_ROOT", str(tmp_path / "alice-ws"))
    ws = workspace_from_option(None)
    assert ws.owner == "alice" and ws.root == (tmp_path / "alice-ws").resolve()
    assert Workspace.local().owner == "alice"
    assert Workspace.local(owner="bob").owner == "bob"  # an argument wins over the environment
    monkeypatch.setenv("CLOUDML_STORAGE__KIND", "azure_blob")
    monkeypatch.setenv("CLOUDML_STORAGE__ACCOUNT_NAME", "devstoreaccount1")
    assert workspace_from_option(None).config.storage.kind == "azure_blob"


def test_sdk_variables_never_move_a_local_lab_to_the_cloud() -> None:
    env = {
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k",
        "AZURE_SUBSCRIPTION_ID": "0000",
        "DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
    }
    config = load_config(None, environ=env)
    assert config.storage.kind == "local" and config.storage.connection_string is None
    assert config.azure_ml is None and config.databricks is None
    blob = load_config(None, environ={**env, "CLOUDML_STORAGE__KIND": "azure_blob"})
    assert blob.storage.connection_string is not None


def test_blob_settings_with_a_local_store_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_text('[storage]\naccount_name = "myaccount"\n')
    with pytest.raises(ConfigError, match=r"account_name set but kind is 'local'.*azure_blob"):
        load_config(path, environ={})


def test_a_key_in_the_wrong_field_is_not_echoed(tmp_path: Path) -> None:
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    path = tmp_path / "cloudml.toml"
    path.write_text(f'[storage]\nkind = "azure_blob"\ncontainer = "{key}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert key not in str(caught.value)
    assert "[storage] container" in str(caught.value) and "looks like a secret" in str(caught.value)
