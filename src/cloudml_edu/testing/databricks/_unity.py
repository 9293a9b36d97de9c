"""Unity Catalog of the fake: the metastore, catalogs, schemas, volumes, grants and volume files.

Privileges are held per securable (``("catalog", "main")``, ``("schema",
"main.cloudml_tester")``) for the signed-in user; a schema's effective
privileges include its catalog's.  Whoever creates a schema owns it (all
privileges), as in Unity Catalog.  Volume files (``PUT /api/2.0/fs/files/Volumes/...``)
land under the fake's folder, where the fake cluster reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudml_edu.testing._http import Reply, SentRequest, json_reply
from cloudml_edu.testing.databricks._routes import Routes, error

if TYPE_CHECKING:
    from cloudml_edu.testing.databricks import FakeDatabricks

__all__ = ["UnityCatalogService"]

_UC = r"/api/2\.1/unity-catalog"


class UnityCatalogService(Routes):
    """The Unity Catalog REST API (the parts the library uses) and the Files API on volumes."""

    def __init__(self, fake: FakeDatabricks) -> None:
        super().__init__(fake)
        self.enabled = True
        self.catalogs = {"main"}
        self.schemas: set[str] = set()
        self.volumes: set[str] = set()
        self.privileges: dict[tuple[str, str], set[str]] = {
            ("catalog", "main"): {"USE_CATALOG", "CREATE_SCHEMA"}
        }
        self.route("GET", _UC + r"/current-metastore-assignment", self._metastore)
        self.route("GET", _UC + r"/catalogs/([^/]+)", self._catalog)
        self.route("GET", _UC + r"/schemas/([^/]+)", self._schema)
        self.route("POST", _UC + r"/schemas", self._create_schema)
        self.route("GET", _UC + r"/volumes/([^/]+)", self._volume)
        self.route("POST", _UC + r"/volumes", self._create_volume)
        self.route("GET", _UC + r"/effective-permissions/(\w+)/([^/]+)", self._effective)
        self.route("PUT", r"/api/2\.0/fs/files/Volumes/.+", self._put_file)

    # ---- scripting helpers ------------------------------------------------------
    def held(self, kind: str, name: str) -> set[str]:
        """The user's effective privileges on a catalog or schema (inherited ones included)."""
        found = set(self.privileges.get((kind, name), set()))
        if kind == "schema":
            found |= self.privileges.get(("catalog", name.split(".")[0]), set())
        if kind == "volume":
            found |= self.held("schema", name.rsplit(".", 1)[0])
        return found

    def _may(self, kind: str, name: str, privilege: str) -> bool:
        held = self.held(kind, name)
        return "ALL_PRIVILEGES" in held or privilege in held

    def _denied(self, privilege: str, kind: str, name: str) -> Reply:
        return error(
            403,
            "PERMISSION_DENIED",
            f"User does not have {privilege.replace('_', ' ')} on {kind.title()} '{name}'.",
        )

    def _missing(self, request: SentRequest) -> Reply | None:
        if not self.enabled:
            return error(
                404,
                "METASTORE_DOES_NOT_EXIST",
                "No metastore assigned for the current workspace.",
            )
        return None

    # ---- routes -------------------------------------------------------------------
    def _metastore(self, request: SentRequest) -> Reply:
        if (refused := self._missing(request)) is not None:
            return refused
        return json_reply(
            200,
            {
                "workspace_id": 1234567890123456,
                "metastore_id": "mst-1",
                "default_catalog_name": "main",
            },
        )

    def _catalog(self, request: SentRequest) -> Reply:
        if (refused := self._missing(request)) is not None:
            return refused
        name = request.path.rsplit("/", 1)[1]
        if name not in self.catalogs or not self.held("catalog", name):
            return error(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")
        return json_reply(200, {"name": name, "full_name": name})

    def _schema(self, request: SentRequest) -> Reply:
        if (refused := self._missing(request)) is not None:
            return refused
        name = request.path.rsplit("/", 1)[1]
        if name not in self.schemas:
            return error(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{name}' does not exist.")
        return json_reply(200, {"full_name": name, "name": name.split(".")[1]})

    def _create_schema(self, request: SentRequest) -> Reply:
        body: dict[str, Any] = request.body or {}
        catalog, name = body.get("catalog_name", ""), body.get("name", "")
        if catalog not in self.catalogs:
            return error(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{catalog}' does not exist.")
        if not self._may("catalog", catalog, "CREATE_SCHEMA"):
            return self._denied("CREATE_SCHEMA", "catalog", catalog)
        full = f"{catalog}.{name}"
        self.schemas.add(full)
        self.privileges.setdefault(("schema", full), {"ALL_PRIVILEGES"})  # the owner
        return json_reply(200, {"full_name": full, "name": name, "catalog_name": catalog})

    def _volume(self, request: SentRequest) -> Reply:
        name = request.path.rsplit("/", 1)[1]
        if name not in self.volumes:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Volume '{name}' does not exist.")
        return json_reply(200, {"full_name": name, "volume_type": "MANAGED"})

    def _create_volume(self, request: SentRequest) -> Reply:
        body: dict[str, Any] = request.body or {}
        schema = f"{body.get('catalog_name')}.{body.get('schema_name')}"
        if schema not in self.schemas:
            return error(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{schema}' does not exist.")
        if not self._may("schema", schema, "CREATE_VOLUME"):
            return self._denied("CREATE_VOLUME", "schema", schema)
        full = f"{schema}.{body.get('name')}"
        self.volumes.add(full)
        (self.fake.volumes_root / full.replace(".", "/")).mkdir(parents=True, exist_ok=True)
        return json_reply(200, {"full_name": full, "volume_type": body.get("volume_type")})

    def _effective(self, request: SentRequest) -> Reply:
        if (refused := self._missing(request)) is not None:
            return refused
        _, kind, name = request.path.rsplit("/", 2)
        exists = name in (self.catalogs if kind == "catalog" else self.schemas)
        if not exists:
            code = "CATALOG_DOES_NOT_EXIST" if kind == "catalog" else "SCHEMA_DOES_NOT_EXIST"
            return error(404, code, f"{kind.title()} '{name}' does not exist.")
        privileges = [{"privilege": p} for p in sorted(self.held(kind, name))]
        assignments = [{"principal": self.fake.user, "privileges": privileges}]
        return json_reply(200, {"privilege_assignments": assignments})

    def _put_file(self, request: SentRequest) -> Reply:
        parts = request.path.removeprefix("/api/2.0/fs/files/Volumes/").split("/")
        volume = ".".join(parts[:3])
        if volume not in self.volumes:
            return error(404, "NOT_FOUND", f"Volume '{volume}' does not exist.")
        if not self._may("volume", volume, "WRITE_VOLUME"):
            return self._denied("WRITE_VOLUME", "volume", volume)
        target = self.fake.volumes_root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(request.data)
        return 204, {}, b""
