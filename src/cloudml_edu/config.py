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
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from cloudml_edu._encoding import read_config_text
from cloudml_edu._secrets import looks_secret, register_secret
from cloudml_edu.errors import ConfigError

__all__ = [
    "AzureMLConfig",
    "CloudMLConfig",
    "DatabricksConfig",
    "PowerBIConfig",
    "StorageConfig",
    "Timeouts",
    "load_config",
    "setting_name",
]

_CONTAINER_RE = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_BLOB_ONLY = ("account_url", "account_name", "connection_string", "account_key", "sas_token")


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

    @model_validator(mode="after")
    def _cloud_settings_need_azure_blob(self) -> StorageConfig:
        if self.kind == "local":
            unused = [name for name in _BLOB_ONLY if getattr(self, name) is not None]
            if unused:
                raise ValueError(
                    f"{', '.join(unused)} set but kind is 'local', so it would be ignored: "
                    'set kind = "azure_blob" to use Azure Blob Storage, or remove it'
                )
        return self


class AzureMLConfig(_Section):
    """An Azure ML workspace, used by the ``designer`` and ``sdk`` backends and ``azureml`` endpoints.

    The three ids may be left out when Azure ML's own ``config.json`` (downloaded
    from the portal) is in ``config_file`` or in ``.azureml/``, ``aml_config/`` or the
    current folder or a parent.  Credentials: ``DefaultAzureCredential`` (``az login``,
    managed identity, or a service principal through ``AZURE_CLIENT_ID``,
    ``AZURE_TENANT_ID`` and ``AZURE_CLIENT_SECRET``); ``tenant_id`` asks for tokens of the
    subscription's tenant (a guest account's home tenant is refused).  Jobs run on serverless
    compute unless ``serverless = false`` (then ``compute``, created when missing: creating
    compute needs more than the AzureML Data Scientist role).  ``environment``: None is the
    library's own job environment (registered once per content digest); a name
    (``azureml:<name>:<version>``) runs jobs on that one instead.
    """

    subscription_id: str = ""
    resource_group: str = ""
    workspace_name: str = ""
    config_file: str | None = None
    tenant_id: str | None = None
    compute: str = "cpu-cluster"
    serverless: bool = True
    vm_size: str = "Standard_DS3_v2"
    max_instances: int = Field(default=2, ge=1, le=100)
    idle_seconds: int = Field(default=600, ge=60, le=86400)
    environment: str | None = None
    instance_type: str = "Standard_DS3_v2"
    mlflow_tracking_uri: str | None = None
    retry_total: int = Field(default=3, ge=0, le=10)
    retry_backoff: float = Field(default=0.8, ge=0, le=60)


DatabricksAuth = Literal["pat", "azure-cli", "azure-client-secret", "azure-identity", "profile"]


class DatabricksConfig(_Section):
    """A Databricks workspace, used by the ``automl`` backend, hive metastore tables and serving.

    Authenticate with one of: ``token`` (a personal access token), Azure Entra ID
    (``auth_type = "azure-cli"``, ``"azure-identity"`` through azure-identity's
    DefaultAzureCredential, or ``"azure-client-secret"`` with the ``azure_*`` keys),
    or a ``profile`` of ``~/.databrickscfg``.  ``auth_type`` is inferred when only one
    method is configured and must be set when several are, so an environment variable
    never silently switches the method.

    AutoML runs on ``runtime`` (an LTS ML runtime that has AutoML; ``spark_version``
    overrides its cluster image).  Models register to Unity Catalog as
    ``<catalog>.<owner's schema>.<dataset>`` (``registry = "workspace"``: the legacy
    Workspace Model Registry); features go to the Unity Catalog volume
    ``<catalog>.<schema>.<volume>`` (``features = "hive_metastore"``: the lab's
    external tables over the blob container, which need ``warehouse_id``).  Past
    ``spark_featurize_above`` images the cluster featurizes them.
    """

    host: str | None = None
    auth_type: DatabricksAuth | None = None
    token: SecretStr | None = None
    profile: str | None = None
    azure_tenant_id: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: SecretStr | None = None
    retry_timeout_seconds: int = Field(default=20, ge=1, le=600)
    warehouse_id: str | None = None
    runtime: str = "15.4-lts-ml"
    spark_version: str | None = None
    registry: Literal["unity-catalog", "workspace"] = "unity-catalog"
    catalog: str = Field(default="main", pattern=r"^[A-Za-z0-9_]{1,255}$")
    volume: str = Field(default="cloudml", pattern=r"^[A-Za-z0-9_]{1,255}$")
    features: Literal["volume", "hive_metastore"] = "volume"
    spark_featurize_above: int = Field(default=5000, ge=0)
    node_type_id: str = "Standard_DS3_v2"
    dbu_per_node_hour: float | None = Field(default=None, ge=0)
    dbu_rate: str = "DBU_jobs_premium"
    workspace_dir: str = "/Shared/cloudml-edu"
    single_user_name: str | None = None
    serving_workload_size: Literal["Small", "Medium", "Large"] = "Small"

    @field_validator("host")
    @classmethod
    def _https_host(cls, value: str | None) -> str | None:
        """``https://<workspace host>``; a URL pasted from the browser (a page, ``?o=<id>``,
        ``#job/...``) is cut down to it."""
        if value is None:
            return None
        value = value.strip()
        if not value.startswith("https://"):
            raise ValueError(f"{value!r} must start with https:// (copy it from the browser)")
        parts = urlsplit(value)
        if not parts.hostname or parts.username or parts.password or " " in parts.netloc:
            raise ValueError(
                f"{value!r} is not a workspace URL; copy https://adb-<id>.<n>.azuredatabricks.net "
                "from the browser's address bar"
            )
        return f"https://{parts.netloc}"

    def methods(self) -> list[str]:
        """The authentication methods this section configures (more than one needs ``auth_type``)."""
        found = []
        if self.token is not None:
            found.append("pat")
        if self.azure_client_secret is not None:
            found.append("azure-client-secret")
        if self.profile is not None:
            found.append("profile")
        return found


class PowerBIConfig(_Section):
    """A Power BI workspace (group) that receives push datasets."""

    group_id: str
    dataset_name: str = "cloudml-edu"


class Timeouts(_Section):
    """How long any remote call may take, in seconds: the one source of every network bound.

    ``connect``: to open a connection; ``read``: the longest silence while waiting for
    an answer (or the next bytes of one); ``total``: one call with all its retries
    (blob storage, Power BI).  Blob storage, Power BI, endpoint scoring, the Azure ML
    client and the Databricks client (its ``http_timeout_seconds``) all read this section (``[timeouts]``, or ``CLOUDML_TIMEOUTS__READ=...``).
    """

    connect: float = Field(default=10.0, gt=0, le=300)
    read: float = Field(default=60.0, gt=0, le=3600)
    total: float = Field(default=120.0, gt=0, le=7200)

    @property
    def pair(self) -> tuple[float, float]:
        """``(connect, read)``, the ``timeout=`` of a :mod:`requests` call."""
        return (self.connect, self.read)


class CloudMLConfig(BaseModel):
    """All settings of a workspace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str = "student"
    root: Path = Path(".cloudml")
    storage: StorageConfig = StorageConfig()
    timeouts: Timeouts = Timeouts()
    azure_ml: AzureMLConfig | None = None
    databricks: DatabricksConfig | None = None
    powerbi: PowerBIConfig | None = None
    prices: dict[str, float] = Field(default_factory=dict)
    plugins: dict[str, Any] = Field(
        default_factory=dict,
        description="The sections of targets added by other packages, by section name, each "
        "validated by its target's config_class",
    )

    @model_validator(mode="before")
    @classmethod
    def _plugin_sections(cls, data: Any) -> Any:
        """Move the tables of other packages' targets into ``plugins``, validated."""
        if not isinstance(data, dict) or all(key in cls.model_fields for key in data):
            return data  # the targets are looked up only for a section the config does not know
        from cloudml_edu.targets import all_targets

        data = dict(data)
        plugins = dict(data.get("plugins") or {})
        for target in all_targets().values():
            section = target.section
            if section is None or section in cls.model_fields or section not in data:
                continue
            raw = data.pop(section)
            if target.config_class is None:
                raise ValueError(f"[{section}] of target {target.name!r} has no config_class")
            model = target.load("config_class")
            try:
                plugins[section] = raw if isinstance(raw, model) else model.model_validate(raw)
            except ValidationError as exc:
                problems = "; ".join(
                    f"[{section}] {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                    for e in exc.errors()
                )
                raise ValueError(problems) from None
        data["plugins"] = plugins
        return data

    def section(self, name: str) -> Any:
        """The settings of the section ``name`` (``azure_ml``, or another package's target's);
        None when the config has none."""
        if name in type(self).model_fields:
            return getattr(self, name)
        return self.plugins.get(name)

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
    """``CLOUDML_<SECTION>__<KEY>``, ``CLOUDML_OWNER`` and ``CLOUDML_ROOT`` as nested settings."""
    data: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("CLOUDML_"):
            continue
        key = name[len("CLOUDML_") :].lower()
        if "__" in key:
            section, field = key.split("__", 1)
            data.setdefault(section, {})[field] = value
        elif key in _TOP_LEVEL:
            data[key] = value
    return data


def _sdk_variables(environ: Mapping[str, str], data: dict[str, Any]) -> dict[str, Any]:
    """The Azure and Databricks tools' own variables, for the sections already in use.

    ``AZURE_STORAGE_*`` fill ``[storage]`` only when its kind is ``azure_blob``, and
    ``DATABRICKS_*``/``AZURE_SUBSCRIPTION_ID`` only an existing ``[databricks]`` or
    ``[azure_ml]``: a variable left over from another tool never moves a lab to the cloud.
    """
    extra: dict[str, Any] = {}
    for name, (section, key) in _ALIASES.items():
        if name not in environ or not isinstance(data.get(section), dict):
            continue
        if section == "storage" and data[section].get("kind") != "azure_blob":
            continue
        extra.setdefault(section, {})[key] = environ[name]
    return extra


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def setting_name(section: str, key: str, environ: Mapping[str, str] | None = None) -> str:
    """``[section] key``, and the environment variable its value came from, if one did
    (``[databricks] host (from DATABRICKS_HOST)``): errors name where to fix it."""
    env = os.environ if environ is None else environ
    ours = f"CLOUDML_{section.upper()}__{key.upper()}"
    if ours in env:
        return f"[{section}] {key} (from {ours})"
    for name, place in _ALIASES.items():
        if place == (section, key) and name in env:
            return f"[{section}] {key} (from {name})"
    return f"[{section}] {key}"


def _explain(error: ValidationError, source: str, environ: Mapping[str, str]) -> str:
    lines = [f"invalid settings in {source}:"]
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        where = f"[{loc[0]}] {'.'.join(loc[1:])}" if len(loc) > 1 else loc[0] if loc else "?"
        env = "CLOUDML_" + "__".join(part.upper() for part in loc[:2])
        named = setting_name(loc[0], loc[1], environ) if len(loc) == 2 else where
        if named != where:  # the value came from an environment variable: fix it there
            where, env = named, named.rsplit("from ", 1)[1].rstrip(")") + " (or unset it)"
        message = item["msg"].removeprefix("Value error, ")
        given = item.get("input")
        if isinstance(given, str) and looks_secret(given):
            register_secret(given)
            message = message.replace(repr(given), "(the value, hidden: it looks like a secret)")
            message = message.replace(given, "***")
        if item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = "is not a known setting (check its spelling)"
        if not loc:  # from a whole-config check (another package's target's section)
            lines.append(f"  {message}")
            continue
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
            missing = f"config file {file} not found: create it (see docs/configuration.md)"
            raise ConfigError(
                f"{missing} or use Workspace.local() to work without a cloud account",
                cli_message=f"{missing} or leave out --config to work locally in .cloudml/",
            )
        try:
            data = tomllib.loads(read_config_text(file))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file} is not valid TOML: {exc}; fix the line it names") from exc
        source = str(file)
        if "root" in data:
            data["root"] = str((file.parent / data["root"]).resolve())
    ours = _env_overrides(env)
    # precedence: CLOUDML_* variables, then the SDKs' variables, then the file
    data = _merge(_merge(data, _sdk_variables(env, _merge(data, ours))), ours)
    try:
        return CloudMLConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source, env)) from None
