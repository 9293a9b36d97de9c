"""Unity Catalog for the ``automl`` backend: where features live and where models register.

Features go to a managed volume ``/Volumes/<catalog>/<schema>/<volume>/...``
through the Files API, so a single-user job cluster reads them with the
student's own Unity Catalog grants and no storage-account key.  Models register
as ``<catalog>.<schema>.<model>`` (``mlflow.set_registry_uri("databricks-uc")``).
Before anything billed starts, :func:`check_privileges` reads the student's
effective privileges and :func:`check_registry` whether the legacy registry is
on, so a refusal comes as one line naming the fix and who must make it.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from cloudml_edu.backends.databricks.connection import translate_error
from cloudml_edu.errors import ConfigError

if TYPE_CHECKING:
    from cloudml_edu.config import DatabricksConfig
    from cloudml_edu.workspace import Workspace

__all__ = [
    "check_privileges",
    "check_registry",
    "ensure_volume",
    "missing_privileges",
    "model_name",
    "upload_file",
    "volume_path",
]

#: What the task needs on the owner's schema (inherited from the catalog counts too).
NEEDED = ("USE_CATALOG", "USE_SCHEMA", "CREATE_MODEL", "READ_VOLUME", "WRITE_VOLUME")


def _uc_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def volume_path(ws: Workspace, settings: DatabricksConfig, *parts: str) -> str:
    """``/Volumes/<catalog>/<schema>/<volume>/<parts...>``."""
    base = f"/Volumes/{settings.catalog}/{ws.schema}/{settings.volume}"
    return "/".join([base, *parts])


def model_name(ws: Workspace, settings: DatabricksConfig, dataset: str) -> str:
    """``catalog.schema.<dataset>`` in Unity Catalog; ``cloudml_<owner>_<dataset>`` in the legacy registry."""
    if settings.registry == "unity-catalog":
        return f"{settings.catalog}.{ws.schema}.{_uc_name(dataset)}"
    return f"cloudml_{ws.schema.removeprefix('cloudml_')}_{dataset}".replace("-", "_")


def missing_privileges(client: Any, user: str, securable: str, full_name: str) -> list[str] | None:
    """The :data:`NEEDED` privileges ``user`` lacks on ``securable`` (None: it does not exist)."""
    from databricks.sdk import errors

    try:
        found = client.grants.get_effective(securable, full_name, principal=user)
    except errors.NotFound:
        return None
    held: set[str] = set()
    for assignment in found.privilege_assignments or []:
        for privilege in assignment.privileges or []:
            if privilege.privilege is not None:
                held.add(str(getattr(privilege.privilege, "value", privilege.privilege)))
    if "ALL_PRIVILEGES" in held:
        return []
    needed = NEEDED if securable == "schema" else ("USE_CATALOG", "CREATE_SCHEMA")
    return [p for p in needed if p not in held]


def check_privileges(client: Any, ws: Workspace, settings: DatabricksConfig, user: str) -> None:
    """ConfigError naming the missing grants (a workspace admin gives them) before anything runs."""
    schema = f"{settings.catalog}.{ws.schema}"
    where = f"Unity Catalog schema {schema}"
    try:
        missing = missing_privileges(client, user, "schema", schema)
        if missing is None:  # the schema is made on first use: that needs CREATE_SCHEMA
            missing = missing_privileges(client, user, "catalog", settings.catalog)
            where = f"Unity Catalog catalog {settings.catalog}"
            if missing is None:
                raise ConfigError(
                    f"Unity Catalog has no catalog {settings.catalog!r} you can see: set "
                    "[databricks] catalog to one you may use (Catalog Explorer lists them), or "
                    "ask a workspace admin to grant you USE CATALOG on one"
                )
    except ConfigError:
        raise
    except Exception as exc:
        raise translate_error(
            exc, action="read your Unity Catalog privileges", where=where
        ) from exc
    if missing:
        grants = ", ".join(p.replace("_", " ") for p in missing)
        kind = where.split()[2]
        raise ConfigError(
            f"{user} lacks {grants} on {where}: ask a workspace admin (or its owner) to run "
            f"GRANT {grants} ON {kind.upper()} {where.split()[-1]} TO `{user}`"
        )


def check_registry(client: Any, settings: DatabricksConfig, where: str) -> None:
    """With ``registry = "workspace"``: ConfigError when the legacy registry is disabled."""
    from databricks.sdk.errors.base import DatabricksError

    if settings.registry != "workspace":
        return
    try:
        client.model_registry.search_models(max_results=1).__next__()
    except StopIteration:
        return
    except DatabricksError as exc:
        if getattr(exc, "error_code", "") == "FEATURE_DISABLED":
            raise ConfigError(
                "this workspace has the legacy Workspace Model Registry disabled: remove "
                '[databricks] registry = "workspace" to register in Unity Catalog (you)'
            ) from exc
        raise translate_error(exc, action="read the model registry", where=where) from exc


def ensure_volume(client: Any, ws: Workspace, settings: DatabricksConfig, where: str) -> None:
    """Create the owner's schema and the managed volume unless they exist."""
    from databricks.sdk import errors
    from databricks.sdk.service.catalog import VolumeType

    schema = f"{settings.catalog}.{ws.schema}"
    try:
        try:
            client.volumes.read(f"{schema}.{settings.volume}")
            return
        except errors.NotFound:
            pass
        try:
            client.schemas.get(schema)
        except errors.NotFound:
            client.schemas.create(
                name=ws.schema, catalog_name=settings.catalog, comment=f"cloudml-edu: {ws.owner}"
            )
        client.volumes.create(
            catalog_name=settings.catalog,
            schema_name=ws.schema,
            name=settings.volume,
            volume_type=VolumeType.MANAGED,
        )
    except Exception as exc:
        raise translate_error(
            exc, action=f"create volume {schema}.{settings.volume}", where=where
        ) from exc


def upload_file(client: Any, path: str, data: bytes, where: str) -> None:
    """PUT ``data`` to a volume path with the Files API (one request: the generated API, not the
    SDK's multipart upload client)."""
    from databricks.sdk.service.files import FilesAPI

    try:
        files: Any = FilesAPI(client.api_client)  # type: ignore[no-untyped-call]
        files.upload(path, io.BytesIO(data), overwrite=True)
    except Exception as exc:
        raise translate_error(exc, action=f"upload {path}", where=where) from exc
