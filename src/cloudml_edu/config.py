"""Workspace settings: a TOML file plus environment variables, validated by pydantic.

A config file has an ``owner`` and optional sections ``[storage]``,
``[azure_ml]``, ``[databricks]``, ``[powerbi]`` and ``[prices]``.  Any key can be
overridden by an environment variable ``CLOUDML_<SECTION>__<KEY>`` (for example
``CLOUDML_STORAGE__CONNECTION_STRING``); the usual SDK variables
(``AZURE_STORAGE_CONNECTION_STRING``, ``DATABRICKS_HOST``, ``DATABRICKS_TOKEN``...) are
read too.  Secrets are :class:`pydantic.SecretStr` and registered for redaction.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from cloudml_edu._secrets import register_secret
from cloudml_edu.errors import ConfigError

__all__ = [
    "AzureMLConfig",
    "CloudMLConfig",
    "DatabricksConfig",
    "PowerBIConfig",
    "StorageConfig",
    "load_config",
]

_CONTAINER_RE = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def model_post_init(self, context: Any, /) -> None:
        for value in self.__dict__.values():
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())


class StorageConfig(_Section):
    """Where datasets live: a local folder, or an Azure Blob Storage container."""

    kind: Literal["local", "azure_blob"] = "local"
    container: str = "cloudml"
    account_url: str | None = None
    account_name: str | None = None
    connection_string: SecretStr | None = None
    account_key: SecretStr | None = None
    sas_token: SecretStr | None = None
    max_concurrency: int = Field(default=32, ge=1, le=128)
    shard_size_mb: int = Field(default=64, ge=1, le=1024)

    @field_validator("container")
    @classmethod
    def _container_name(cls, value: str) -> str:
        if not _CONTAINER_RE.match(value):
            raise ValueError(
                f"{value!r} is not a valid container name: use 3-63 lowercase letters, "
                "digits and single hyphens, starting and ending with a letter or digit"
            )
        return value

    @field_validator("account_name")
    @classmethod
    def _account_name(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT_RE.match(value):
            raise ValueError(
                f"{value!r} is not a valid storage account name: use 3-24 lowercase "
                "letters and digits"
            )
        return value


class AzureMLConfig(_Section):
    """An Azure ML workspace, used by the ``designer`` and ``sdk`` backends and ``azureml`` endpoints.

    The three ids may be left out when Azure ML's own ``config.json`` (downloaded
    from the portal) is in ``config_file`` or in ``.azureml/``, ``aml_config/`` or the
    current folder or a parent.  Credentials: ``DefaultAzureCredential`` (``az login``,
    managed identity, or a service principal through ``AZURE_CLIENT_ID``,
    ``AZURE_TENANT_ID`` and ``AZURE_CLIENT_SECRET``).
    """

    subscription_id: str = ""
    resource_group: str = ""
    workspace_name: str = ""
    config_file: str | None = None
    compute: str = "cpu-cluster"
    serverless: bool = False
    vm_size: str = "Standard_DS3_v2"
    max_instances: int = Field(default=2, ge=1, le=100)
    idle_seconds: int = Field(default=600, ge=60, le=86400)
    environment: str = "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"
    instance_type: str = "Standard_DS3_v2"
    mlflow_tracking_uri: str | None = None
    retry_total: int = Field(default=3, ge=0, le=10)
    retry_backoff: float = Field(default=0.8, ge=0, le=60)


class DatabricksConfig(_Section):
    """A Databricks workspace, used by the ``automl`` backend and hive metastore tables."""

    host: str
    token: SecretStr | None = None
    warehouse_id: str | None = None
    catalog: str = "hive_metastore"
    spark_version: str = "15.4.x-cpu-ml-scala2.12"
    node_type_id: str = "Standard_DS3_v2"

    @field_validator("host")
    @classmethod
    def _https_host(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(f"{value!r} must start with https:// (copy it from the browser)")
        return value.rstrip("/")


class PowerBIConfig(_Section):
    """A Power BI workspace (group) that receives push datasets."""

    group_id: str
    dataset_name: str = "cloudml-edu"


class CloudMLConfig(BaseModel):
    """All settings of a workspace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str = "student"
    root: Path = Path(".cloudml")
    storage: StorageConfig = StorageConfig()
    azure_ml: AzureMLConfig | None = None
    databricks: DatabricksConfig | None = None
    powerbi: PowerBIConfig | None = None
    prices: dict[str, float] = Field(default_factory=dict)

    @field_validator("owner")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        if not _OWNER_RE.match(value):
            raise ValueError(
                f"{value!r} is not a valid owner: use letters, digits, '.', '_' or '-' "
                "(it prefixes and tags everything you create)"
            )
        return value


# Well-known variables of the Azure and Databricks tools, mapped to (section, key).
_ALIASES: dict[str, tuple[str, str]] = {
    "AZURE_STORAGE_CONNECTION_STRING": ("storage", "connection_string"),
    "AZURE_STORAGE_ACCOUNT": ("storage", "account_name"),
    "AZURE_STORAGE_KEY": ("storage", "account_key"),
    "AZURE_STORAGE_SAS_TOKEN": ("storage", "sas_token"),
    "AZURE_SUBSCRIPTION_ID": ("azure_ml", "subscription_id"),
    "DATABRICKS_HOST": ("databricks", "host"),
    "DATABRICKS_TOKEN": ("databricks", "token"),
}
_TOP_LEVEL = {"owner", "root"}


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in environ.items():
        if name in _ALIASES:
            section, key = _ALIASES[name]
        elif name.startswith("CLOUDML_") and "__" in name:
            section, key = name[len("CLOUDML_") :].lower().split("__", 1)
        elif name.startswith("CLOUDML_") and name[len("CLOUDML_") :].lower() in _TOP_LEVEL:
            data[name[len("CLOUDML_") :].lower()] = value
            continue
        else:
            continue
        data.setdefault(section, {})[key] = value
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _explain(error: ValidationError, source: str) -> str:
    lines = [f"invalid settings in {source}:"]
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        where = f"[{loc[0]}] {'.'.join(loc[1:])}" if len(loc) > 1 else loc[0] if loc else "?"
        env = "CLOUDML_" + "__".join(part.upper() for part in loc[:2])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = "is not a known setting (check its spelling)"
        lines.append(f"  {where}: {message}; set it in the file or with {env}")
    return "\n".join(lines)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> CloudMLConfig:
    """Read ``path`` (TOML), overlay environment variables, and validate.

    Raises :class:`ConfigError` naming each bad key and how to fix it.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    source = "environment variables"
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(
                f"config file {file} not found: create it (see docs/configuration.md) "
                "or use Workspace.local() to work without a cloud account"
            )
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file} is not valid TOML: {exc}; fix the line it names") from exc
        source = str(file)
        if "root" in data:
            data["root"] = str((file.parent / data["root"]).resolve())
    data = _merge(data, _env_overrides(env))
    try:
        return CloudMLConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source)) from None
