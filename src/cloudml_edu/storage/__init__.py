"""Object stores: a local folder and Azure Blob Storage, behind one protocol.

Transport only: keys, bytes and MD5s.  What a dataset version looks like in a
store is :mod:`cloudml_edu.manifest`; uploading, listing and sharing versions is
:mod:`cloudml_edu.datasets`.  ``BlobStore`` (Azure Blob) is loaded on first use,
so importing this package stays light.
"""

from typing import TYPE_CHECKING

from cloudml_edu._lazy import lazy_attributes
from cloudml_edu.storage.base import ObjectInfo, Store
from cloudml_edu.storage.local import LocalStore

if TYPE_CHECKING:
    from cloudml_edu.storage.blob import BlobStore

__all__ = ["BlobStore", "LocalStore", "ObjectInfo", "Store"]


__getattr__ = lazy_attributes(__name__, {"BlobStore": ".blob"}, globals())
