"""Object stores that hold datasets: a local folder and Azure Blob Storage, behind one protocol."""

from cloudml_edu.storage.base import ObjectInfo, Store
from cloudml_edu.storage.local import LocalStore

__all__ = ["LocalStore", "ObjectInfo", "Store"]
