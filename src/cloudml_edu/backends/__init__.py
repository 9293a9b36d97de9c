"""The registries: a backend name and a target pick the module that trains; a target picks
the provider that serves endpoints.

``designer`` and ``sdk`` target Azure ML when the workspace has an ``[azure_ml]``
section, ``automl`` targets Databricks when it has ``[databricks]``; otherwise
all three run locally.  Adding a backend is one module plus one line in
:data:`REGISTRY`, an endpoint target one module plus one line in
:data:`ENDPOINT_PROVIDERS`; modules are imported only when chosen.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cloudml_edu.errors import ConfigError

if TYPE_CHECKING:
    import requests

    from cloudml_edu.backends.base import Backend, EndpointProvider
    from cloudml_edu.backends.databricks.tables import DatabricksTables
    from cloudml_edu.catalog import Catalog
    from cloudml_edu.options import TrainOptions
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.workspace import Workspace

__all__ = [
    "BACKENDS",
    "CLEANERS",
    "ENDPOINT_PROVIDERS",
    "ENDPOINT_TARGETS",
    "JOB_ATTACHERS",
    "REGISTRY",
    "TABLE_CATALOGS",
    "attach_job",
    "load_backend",
    "load_provider",
    "open_backend",
    "table_catalog",
    "target_for",
]

#: (backend name, target) -> "module:class"
REGISTRY: dict[tuple[str, str], str] = {
    ("designer", "local"): "cloudml_edu.backends.local.designer:DesignerBackend",
    ("sdk", "local"): "cloudml_edu.backends.local.sdk:SdkBackend",
    ("automl", "local"): "cloudml_edu.backends.local.automl:AutoMLBackend",
    ("automl", "databricks"): "cloudml_edu.backends.databricks.automl:DatabricksAutoML",
    ("designer", "azureml"): "cloudml_edu.backends.azureml.designer:AzureDesignerBackend",
    ("sdk", "azureml"): "cloudml_edu.backends.azureml.sdk:AzureSdkBackend",
}
#: target -> "module:function(workspace, job name) -> TrainingRun" attaching a hand-built job.
JOB_ATTACHERS: dict[str, str] = {"azureml": "cloudml_edu.backends.azureml.attach:attach_job"}
#: cloud target -> module with ``billable(ws) -> list[Billable]`` and ``remove(ws, item, *, timeout)``
CLEANERS: dict[str, str] = {
    "azureml": "cloudml_edu.backends.azureml.cleanup",
    "databricks": "cloudml_edu.backends.databricks.cleanup",
}
#: The cloud service each backend targets when the workspace configures it.
CLOUD_TARGET: dict[str, str] = {"designer": "azureml", "sdk": "azureml", "automl": "databricks"}
BACKENDS: tuple[str, ...] = ("designer", "sdk", "automl")


def target_for(name: str, workspace: Workspace) -> str:
    """``local``, or the cloud target when the workspace configures that service."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    cloud = CLOUD_TARGET[name]
    configured = workspace.config.azure_ml if cloud == "azureml" else workspace.config.databricks
    return cloud if configured is not None else "local"


#: Where registered datasets are kept when the workspace configures a service: "module:Class".
TABLE_CATALOGS: dict[str, str] = {
    "databricks": "cloudml_edu.backends.databricks.tables:DatabricksTables",
}


def table_catalog(workspace: Workspace) -> Catalog | DatabricksTables:
    """The dataset catalog: hive metastore tables with a Databricks warehouse, else the local one."""
    settings = workspace.config.databricks
    if settings is None or not settings.warehouse_id:
        return workspace.catalog
    module_name, class_name = TABLE_CATALOGS["databricks"].split(":")
    found: Catalog | DatabricksTables = getattr(importlib.import_module(module_name), class_name)(
        workspace
    )
    return found


def load_backend(
    name: str, workspace: Workspace, options: TrainOptions, *, progress: bool | None
) -> Backend:
    """Instantiate the backend ``name`` for ``workspace`` (its target chosen by the config)."""
    return open_backend(name, target_for(name, workspace), workspace, options, progress=progress)


def open_backend(
    name: str, target: str, workspace: Workspace, options: TrainOptions, *, progress: bool | None
) -> Backend:
    """Instantiate the backend that trains ``name`` runs on ``target`` (to refresh a stored run)."""
    path = REGISTRY.get((name, target))
    if path is None:
        if name not in BACKENDS:
            raise ConfigError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
        raise ConfigError(
            f"backend {name!r} has no {target} adapter in this version of cloudml-edu; remove "
            f"the [{'azure_ml' if target == 'azureml' else target}] section from your config "
            "to run it locally"
        )
    module_name, class_name = path.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    backend: Backend = cls(workspace, options, progress=progress)
    return backend


def attach_job(target: str, workspace: Workspace, name: str) -> TrainingRun:
    """Record the hand-built job ``name`` of ``target`` as a run (see ``TrainingRun.from_job``)."""
    path = JOB_ATTACHERS.get(target)
    if path is None:
        raise ConfigError(
            f"cannot attach jobs of {target!r}; attachable targets: {', '.join(JOB_ATTACHERS)}"
        )
    module_name, function_name = path.split(":")
    attach = getattr(importlib.import_module(module_name), function_name)
    run: TrainingRun = attach(workspace, name)
    return run


#: endpoint target -> "module:class" of its :class:`~cloudml_edu.backends.base.EndpointProvider`
ENDPOINT_PROVIDERS: dict[str, str] = {
    "local": "cloudml_edu.backends.local.endpoint:LocalEndpointProvider",
    "databricks": "cloudml_edu.backends.databricks.serving:DatabricksEndpointProvider",
    "azureml": "cloudml_edu.backends.azureml.endpoints:AzureMLEndpointProvider",
}
ENDPOINT_TARGETS: tuple[str, ...] = ("local", "azureml", "databricks")
#: cloud target -> (its section in cloudml.toml, the pip extra with its SDK)
_CLOUD_NEEDS: dict[str, tuple[str, str]] = {
    "azureml": ("azure_ml", "azure"),
    "databricks": ("databricks", "databricks"),
}


def load_provider(
    target: str, workspace: Workspace, *, session: requests.Session | None = None
) -> EndpointProvider:
    """The endpoint provider of ``target`` for ``workspace``; ConfigError says what is missing."""
    if target not in ENDPOINT_TARGETS:
        raise ConfigError(
            f"unknown endpoint target {target!r}; choose one of: {', '.join(ENDPOINT_TARGETS)}"
        )
    path = ENDPOINT_PROVIDERS.get(target)
    if path is None:
        raise ConfigError(
            f"endpoints on {target} are not available in this version of cloudml-edu; "
            "deploy with target='local' (--target local)"
        )
    if target in _CLOUD_NEEDS:
        section, extra = _CLOUD_NEEDS[target]
        if getattr(workspace.config, section) is None:
            raise ConfigError(
                f"endpoints on {target} need the [{section}] section in cloudml.toml (see "
                f"docs/configuration.md) and `pip install 'cloudml-edu[{extra}]'`; or deploy "
                "with target='local' (--target local)"
            )
    module_name, class_name = path.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    provider: EndpointProvider = cls(workspace, session=session)
    return provider
