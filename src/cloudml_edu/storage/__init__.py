"""Object stores that hold datasets: a local folder and Azure Blob Storage, behind one protocol.

``BlobStore`` (Azure Blob) is loaded on first use, so importing this package stays light.
"""

from typing import TYPE_CHECKING, Any

from cloudml_edu.storage.base import ObjectInfo, Store
from cloudml_edu.storage.local import LocalStore
from cloudml_edu.storage.manage import (
    SharedVersion,
    VersionInfo,
    delete_version,
    download_version,
    list_versions,
    share_version,
)

if TYPE_CHECKING:
    from cloudml_edu.storage.blob import BlobStore

__all__ = [
    "BlobStore",
    "LocalStore",
    "ObjectInfo",
    "SharedVersion",
    "Store",
    "VersionInfo",
    "delete_version",
    "download_version",
    "list_versions",
    "share_version",
]


def __getattr__(name: str) -> Any:
    if name == "BlobStore":
        from cloudml_edu.storage.blob import BlobStore

        return BlobStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
