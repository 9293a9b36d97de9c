"""Adapters, one package per target, and the lookups that open them by (backend, target).

What each target offers is its :class:`~cloudml_edu.targets.Target` in
``backends/<target>/target.py``; these functions choose and instantiate what
it names, importing a module only when it is chosen.  Adding a target is one
package with a ``target.py`` (plus an entry point, for a separate package):
see "Adding a target" in docs/architecture.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudml_edu.errors import ConfigError
from cloudml_edu.targets import all_targets, get_target, target_for_backend

if TYPE_CHECKING:
    import requests

    from cloudml_edu.backends.base import Backend, EndpointProvider
    from cloudml_edu.backends.databricks.tables import DatabricksTables
    from cloudml_edu.catalog import Catalog
    from cloudml_edu.options import TrainOptions
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.workspace import Workspace

__all__ = [
    "attach_job",
    "load_backend",
    "load_provider",
    "open_backend",
    "table_catalog",
]


def load_backend(
    name: str,
    workspace: Workspace,
    options: TrainOptions,
    *,
    progress: bool | None,
    target: str | None = None,
) -> Backend:
    """Instantiate the backend ``name`` for ``workspace`` on ``target``, or on the target the
    config chooses (see :func:`cloudml_edu.targets.target_for_backend`)."""
    chosen = target_for_backend(name, workspace.config, target)
    return open_backend(name, chosen.name, workspace, options, progress=progress)


def open_backend(
    name: str, target: str, workspace: Workspace, options: TrainOptions, *, progress: bool | None
) -> Backend:
    """Instantiate the backend that trains ``name`` runs on ``target`` (to refresh a stored run)."""
    cls = get_target(target).trainer(name)
    backend: Backend = cls(workspace, options, progress=progress)
    return backend


def attach_job(target: str, workspace: Workspace, name: str) -> TrainingRun:
    """Record the hand-built job ``name`` of ``target`` as a run (see ``TrainingRun.from_job``)."""
    chosen = get_target(target)
    if chosen.attach is None:
        attachable = [t.name for t in all_targets().values() if t.attach is not None]
        raise ConfigError(
            f"cannot attach jobs of {target!r}; attachable targets: {', '.join(attachable)}"
        )
    run: TrainingRun = chosen.load("attach")(workspace, name)
    return run


def table_catalog(workspace: Workspace) -> Catalog | DatabricksTables:
    """The dataset catalog: the first configured target's that keeps one (Databricks, with a
    ``warehouse_id``: hive metastore tables), else the workspace's local one."""
    for target in all_targets().values():
        if target.catalog is not None and target.configured(workspace.config):
            found: Catalog | DatabricksTables | None = target.load("catalog")(workspace)
            if found is not None:
                return found
    return workspace.catalog


def load_provider(
    target: str, workspace: Workspace, *, session: requests.Session | None = None
) -> EndpointProvider:
    """The endpoint provider of ``target`` for ``workspace``; ConfigError says what is missing."""
    chosen = get_target(target)
    if chosen.endpoint_provider is None:
        raise ConfigError(
            f"endpoints on {chosen.name} are not available in this version of cloudml-edu; "
            "deploy with target='local' (--target local)"
        )
    if not chosen.configured(workspace.config):
        install = f" and `pip install 'cloudml-edu[{chosen.extra}]'`" if chosen.extra else ""
        raise ConfigError(
            f"endpoints on {chosen.name} need the [{chosen.section}] section in cloudml.toml (see "
            f"docs/configuration.md){install}; or deploy with target='local' (--target local)"
        )
    provider: EndpointProvider = chosen.load("endpoint_provider")(workspace, session=session)
    return provider
