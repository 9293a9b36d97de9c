"""The local dataset catalog: a SQLite table of registered dataset versions.

Names follow the Databricks hive metastore's ``hive_metastore.<schema>.<table>``
shape, so a name registered locally is the name the Databricks adapter uses.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cloudml_edu.errors import ConfigError, NotFoundError
from cloudml_edu.manifest import Manifest

__all__ = ["Catalog", "CatalogEntry", "table_name"]

CATALOG = "hive_metastore"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    full_name   TEXT NOT NULL,
    version     TEXT NOT NULL,
    store_url   TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    layout      TEXT NOT NULL,
    images      INTEGER NOT NULL,
    classes     INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    created     TEXT NOT NULL,
    PRIMARY KEY (full_name, version)
)
"""


@dataclass(frozen=True)
class CatalogEntry:
    """One registered dataset version."""

    full_name: str
    version: str
    store_url: str
    prefix: str
    layout: str
    images: int
    classes: int
    bytes: int
    fingerprint: str
    created: str


def table_name(name: str, *, schema: str) -> str:
    """``digits`` -> ``hive_metastore.<schema>.digits``; a full name is checked and kept."""
    parts = name.lower().replace("-", "_").split(".")
    if len(parts) == 1:
        parts = [CATALOG, schema, parts[0]]
    elif len(parts) == 2:
        parts = [CATALOG, *parts]
    if len(parts) != 3 or parts[0] != CATALOG or not all(_IDENT.match(p) for p in parts[1:]):
        raise ConfigError(
            f"{name!r} is not a valid table name: use letters, digits and underscores, "
            f"as <table>, <schema>.<table> or {CATALOG}.<schema>.<table>"
        )
    return ".".join(parts)


class Catalog:
    """Registered dataset versions, kept in SQLite."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with closing(self._connect()) as db, db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def register(
        self, manifest: Manifest, *, prefix: str, store_url: str, schema: str, name: str | None
    ) -> str:
        """Record ``manifest``, complete in the store at ``prefix``; returns the full table name."""
        full = table_name(name or manifest.name, schema=schema)
        row = (
            full,
            manifest.version,
            store_url,
            prefix,
            manifest.layout,
            len(manifest.records),
            len(manifest.classes),
            manifest.total_bytes,
            manifest.fingerprint(),
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO datasets VALUES (?,?,?,?,?,?,?,?,?,?)", row)
        return full

    def get(self, name: str, *, version: str | None = None, schema: str) -> CatalogEntry:
        """The entry for ``name`` at ``version`` (default: the newest registered)."""
        full = table_name(name, schema=schema)
        query = "SELECT * FROM datasets WHERE full_name = ?"
        args: tuple[str, ...] = (full,)
        if version is not None:
            query += " AND version = ?"
            args += (version,)
        query += " ORDER BY created DESC, version DESC LIMIT 1"
        with closing(self._connect()) as db:
            found = db.execute(query, args).fetchone()
        if found is None:
            known = ", ".join(f"{e.full_name} v{e.version}" for e in self.list()) or "none"
            missing = (
                f"dataset {full}{' version ' + version if version else ''} is not registered "
                f"(registered: {known})"
            )
            raise NotFoundError(
                f"{missing}; call Dataset.register(ws, name=...) first",
                cli_message=f"{missing}; upload it first (`cloudml-edu dataset upload FOLDER "
                "--name NAME`), or pass an image folder",
            )
        return CatalogEntry(*found)

    def list(self) -> list[CatalogEntry]:
        """Every registered version, newest first."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM datasets ORDER BY full_name, created DESC").fetchall()
        return [CatalogEntry(*row) for row in rows]

    def delete(self, name: str, *, version: str, schema: str) -> None:
        """Forget a version (the store's objects are deleted by the caller)."""
        with closing(self._connect()) as db, db:
            db.execute(
                "DELETE FROM datasets WHERE full_name = ? AND version = ?",
                (table_name(name, schema=schema), version),
            )
