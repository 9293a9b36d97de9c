"""Commented ``cloudml.toml`` templates for ``cloudml-edu init --cloud ...``, and their placeholders.

Each template is valid TOML that :func:`cloudml_edu.config.load_config` accepts as
written; the values a student must replace are in angle brackets (``"<resource
group>"``), and :func:`placeholders` names those still left, so a plan made before
they are filled in says so.  The sign-in is part of each template: Azure ML uses
``az login`` (``DefaultAzureCredential``), Databricks needs its own (``az login`` is
not enough unless your Entra ID user was added to the Databricks workspace).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from cloudml_edu.config import CloudMLConfig

__all__ = ["CLOUDS", "Cloud", "placeholders", "template", "with_placeholders"]

Cloud = Literal["azureml", "databricks"]
#: The clouds ``init --cloud`` writes a section for.
CLOUDS: tuple[str, ...] = ("azureml", "databricks")

_HEAD = """\
# cloudml.toml: the lab's settings (docs/configuration.md lists every key).
# Replace every "<...>" value; keep secrets out of this file (environment variables).
owner = "student"                    # put your name: it prefixes and tags everything you create
root = ".cloudml"                    # local folder: run store, catalog, endpoint records
"""

_AZURE_ML = """
[azure_ml]
# Sign-in: `az login` (add `--tenant <tenant id>` for a guest account), then
# `az account set --subscription <subscription id>`. A service principal works too:
# AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET in the environment.
# Your identity needs the "AzureML Data Scientist" role on the workspace.
# The three ids are on the workspace's Overview page in the Azure portal.
subscription_id = "<subscription id>"
resource_group = "<resource group>"
workspace_name = "<Azure ML workspace name>"
compute = "cpu-cluster"              # created when missing (or serverless = true)
vm_size = "Standard_DS3_v2"          # training nodes; priced in docs/prices.md
instance_type = "Standard_DS3_v2"    # the endpoint: billed every hour it exists
"""

_DATABRICKS = """
[storage]
# Databricks reads the images from Azure Blob Storage (an abfss:// table location).
# Sign-in: `az login` with the "Storage Blob Data Contributor" role on the account,
# or AZURE_STORAGE_CONNECTION_STRING / AZURE_STORAGE_SAS_TOKEN in the environment.
kind = "azure_blob"
account_url = "https://<storage account>.blob.core.windows.net"
container = "cloudml"

[databricks]
# The workspace URL from the browser, without anything after .net
host = "https://<adb-1234567890123456.7>.azuredatabricks.net"
# Sign-in: `az login` alone is NOT enough for Databricks. Pick one:
#  1. auth_type = "azure-cli": `az login` in the tenant of the Databricks workspace, and
#     your Entra ID user must have been added to the Databricks workspace;
#  2. a personal access token (Databricks: Settings > Developer > Access tokens) in the
#     environment: export DATABRICKS_TOKEN=... (never in this file), and remove auth_type.
auth_type = "azure-cli"
warehouse_id = "<SQL warehouse id>"  # SQL Warehouses > your warehouse > Overview
node_type_id = "Standard_DS3_v2"     # the AutoML job cluster's node
serving_workload_size = "Small"      # the serving endpoint: billed while it is up
"""


def template(cloud: str) -> str:
    """The commented ``cloudml.toml`` for ``cloud`` (``azureml`` or ``databricks``)."""
    from cloudml_edu.errors import ConfigError

    sections = {"azureml": _AZURE_ML, "databricks": _DATABRICKS}
    if cloud not in sections:
        raise ConfigError(
            f"unknown cloud {cloud!r}; use one of: {', '.join(CLOUDS)}",
            cli_message=f"--cloud {cloud!r} is not known; use --cloud azureml or --cloud databricks",
        )
    return _HEAD + sections[cloud]


def _strings(value: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _strings(item, f"{where}.{key}")]
    return [(where.lstrip("."), value)] if isinstance(value, str) else []


def placeholders(config: CloudMLConfig) -> list[str]:
    """The settings of ``config`` still holding a ``<...>`` placeholder (``azure_ml.resource_group``)."""
    data = config.model_dump(mode="json")
    return [key for key, value in _strings(data, "") if "<" in value and ">" in value]


def with_placeholders(config: CloudMLConfig, cloud: str) -> CloudMLConfig:
    """``config`` with ``cloud``'s section taken from its template when it has none, so a
    plan can be made without a config (its names are placeholders: :func:`placeholders`)."""
    import tomllib

    from cloudml_edu.config import AzureMLConfig, DatabricksConfig, StorageConfig

    section = {"azureml": "azure_ml", "databricks": "databricks"}.get(cloud)
    if section is None or getattr(config, section) is not None:
        return config
    filled = tomllib.loads(template(cloud))
    update: dict[str, Any] = {
        section: (AzureMLConfig if cloud == "azureml" else DatabricksConfig).model_validate(
            filled[section]
        )
    }
    if "storage" in filled and config.storage.kind == "local":
        update["storage"] = StorageConfig.model_validate(filled["storage"])
    return config.model_copy(update=update)
