"""The workspace: where datasets, runs, models and endpoints live.

``Workspace.local()`` keeps everything in a folder (``.cloudml/`` by default): a
blob folder, an MLflow tracking store (SQLite), a dataset catalog (SQLite) and
an endpoint registry.  ``Workspace.from_config("cloudml.toml")`` reads cloud
settings; the same user code then targets Azure and Databricks.
"""

from __future__ import annotations

import os
import re
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from cloudml_edu._checks import check_path
from cloudml_edu._locks import file_lock
from cloudml_edu._paths import ensure_dir
from cloudml_edu._secrets import install_log_filter
from cloudml_edu._sqlite import check_sqlite
from cloudml_edu.config import CloudMLConfig, StorageConfig, load_config
from cloudml_edu.errors import ConfigError
from cloudml_edu.targets import LOCAL, cloud_targets

if TYPE_CHECKING:
    from cloudml_edu.catalog import Catalog
    from cloudml_edu.checks import Check
    from cloudml_edu.storage.base import Store

__all__ = ["Workspace", "resolve_workspace"]

DEFAULT_CONFIG = "cloudml.toml"
#: Seconds to wait for another process creating the workspace's stores.
STORE_LOCK_TIMEOUT = 120.0
#: What ``cloudml-edu repair`` rebuilds each SQLite store from (named in its errors).
RUNS_REBUILT_FROM = "the run records (artifacts/<experiment>/<run>/artifacts/run.json)"
CATALOG_REBUILT_FROM = "the stored manifests (_manifest.json of every version)"


class Workspace:
    """Settings plus the stores they point at. Create with :meth:`local` or :meth:`from_config`."""

    def __init__(self, config: CloudMLConfig) -> None:
        install_log_filter()
        self.config = config
        self.root = ensure_dir(Path(config.root).resolve(), what="workspace folder")
        self._tracking_checked = False

    @classmethod
    def local(
        cls, root: str | os.PathLike[str] | None = None, *, owner: str | None = None
    ) -> Workspace:
        """Everything on this machine, under ``root``: no cloud account needed.

        ``root`` and ``owner`` default to ``$CLOUDML_ROOT`` and ``$CLOUDML_OWNER``,
        then to ``.cloudml`` and ``student``.
        """
        if root is not None and not isinstance(root, str | os.PathLike):
            raise ConfigError(
                f"root= takes a folder path, got {type(root).__name__}; e.g. "
                'Workspace.local(".cloudml")'
            )
        if owner is not None and not isinstance(owner, str):
            raise ConfigError(f"owner= takes a name, got {type(owner).__name__}")
        chosen_owner = owner if owner is not None else os.environ.get("CLOUDML_OWNER", "student")
        chosen_root = root if root is not None else os.environ.get("CLOUDML_ROOT", ".cloudml")
        try:
            config = CloudMLConfig(owner=chosen_owner, root=Path(chosen_root))
        except ValueError as exc:
            raise ConfigError(f"invalid owner {chosen_owner!r}: {exc}") from None
        return cls(config)

    @classmethod
    def from_environment(cls) -> Workspace:
        """Settings from ``CLOUDML_*`` environment variables alone (no config file)."""
        return cls(load_config(None))

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        """Read a TOML config (default ``$CLOUDML_CONFIG`` or ``./cloudml.toml``) plus environment."""
        check_path(path, name="path", optional=True)
        chosen = path if path is not None else os.environ.get("CLOUDML_CONFIG", DEFAULT_CONFIG)
        return cls(load_config(chosen))

    def __repr__(self) -> str:
        services = [t.name for t in cloud_targets(self.config)]
        services += ["powerbi"] if self.config.powerbi else []
        where = ", ".join(services) if services else LOCAL
        return (
            f"Workspace(owner={self.owner!r}, root={str(self.root)!r}, "
            f"storage={self.config.storage.kind!r}, compute={where!r})"
        )

    @property
    def owner(self) -> str:
        """Student or group name: prefixes and tags everything this workspace creates."""
        return self.config.owner

    @property
    def schema(self) -> str:
        """The hive metastore schema of this owner's tables (``cloudml_<owner>``)."""
        return "cloudml_" + re.sub(r"[^a-z0-9_]", "_", self.owner.lower())

    @property
    def is_local(self) -> bool:
        """True when no cloud compute is configured."""
        return not cloud_targets(self.config)

    @cached_property
    def store(self) -> Store:
        """The object store datasets are uploaded to."""
        storage: StorageConfig = self.config.storage
        if storage.kind == "local":
            from cloudml_edu.storage.local import LocalStore

            return LocalStore(self.root / "blobs", max_concurrency=min(storage.max_concurrency, 8))
        from cloudml_edu.storage import blob

        return blob.BlobStore.from_config(storage, timeouts=self.config.timeouts)

    @cached_property
    def catalog(self) -> Catalog:
        """The dataset catalog (SQLite under root; names shaped like hive metastore tables),
        created under the same lock as the tracking store."""
        from cloudml_edu.catalog import Catalog

        check_sqlite(self.root / "catalog.db", rebuilt_from=CATALOG_REBUILT_FROM)
        with self._store_lock():
            return Catalog(self.root / "catalog.db")

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking store: SQLite under root (see :meth:`ensure_tracking_store`)."""
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def ensure_tracking_store(self) -> str:
        """Create the MLflow SQLite store once, under a lock, and return its URI.

        Two commands started at once on a fresh workspace would otherwise both
        create MLflow's tables and one would fail ("duplicate column").  Every
        module that points MLflow at the workspace calls this first.
        """
        ready = self.root / ".mlflow-ready"
        if not self._tracking_checked:
            check_sqlite(self.root / "mlflow.db", rebuilt_from=RUNS_REBUILT_FROM)
        if not ready.exists():
            with self._store_lock():
                if not ready.exists():
                    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

                    SqlAlchemyStore(self.tracking_uri, self.artifact_root.as_uri())  # type: ignore[no-untyped-call]
                    ready.touch()
        if not self._tracking_checked:
            from cloudml_edu.run_store import relocate_artifacts

            self._tracking_checked = True
            relocate_artifacts(self)  # a copied or moved workspace writes into its own folder
        return self.tracking_uri

    def _store_lock(self) -> AbstractContextManager[None]:
        """The lock held while the workspace's SQLite stores are created (bounded wait)."""
        return file_lock(self.root / ".stores.lock", timeout=STORE_LOCK_TIMEOUT)

    def check(self) -> list[Check]:
        """Preflight checks of every configured cloud target (sign-in, roles, quota...).

        Costs nothing; ``cloudml-edu doctor`` prints them one line each.
        """
        from cloudml_edu.checks import run_checks

        return run_checks(self)

    @property
    def artifact_root(self) -> Path:
        """Where MLflow artifacts (models, plots) are written."""
        return ensure_dir(self.root / "artifacts", what="workspace artifacts folder")

    @property
    def runs_dir(self) -> Path:
        """Working folders of training runs (step outputs, job logs)."""
        return ensure_dir(self.root / "runs", what="workspace runs folder")

    @property
    def endpoints_dir(self) -> Path:
        """The registry of local endpoints (one JSON file each)."""
        return ensure_dir(self.root / "endpoints", what="workspace endpoints folder")


def resolve_workspace(workspace: Workspace | None) -> Workspace:
    """``workspace``, or the default local one (``.cloudml/``) when None: local by default.

    Anything else (a path string, a config file name) is a ConfigError saying how to
    make a Workspace from it, before anything is written.
    """
    if workspace is None:
        return Workspace.local()
    if not isinstance(workspace, Workspace):
        shown = (
            repr(workspace)
            if isinstance(workspace, str | os.PathLike)
            else type(workspace).__name__
        )
        raise ConfigError(
            f"workspace= takes a Workspace, got {shown}; pass Workspace.local(<folder>) or "
            "Workspace.from_config(<cloudml.toml>)"
        )
    return workspace
