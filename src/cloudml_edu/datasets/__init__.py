"""Datasets: reading image folders, uploading versions to a store, loading and managing them.

One package holds every dataset operation, above :mod:`cloudml_edu.storage`
(transport only) and :mod:`cloudml_edu.manifest` (records and key layout):

* :mod:`~cloudml_edu.datasets.core`: :class:`Dataset` (the only place datasets are built);
* :mod:`~cloudml_edu.datasets.scan`: reading an ImageFolder;
* :mod:`~cloudml_edu.datasets.sources`: where a dataset's bytes are (folder or store);
* :mod:`~cloudml_edu.datasets.upload` / :mod:`~cloudml_edu.datasets.packed`: syncing a
  version in the "files" or "parquet" layout;
* :mod:`~cloudml_edu.datasets.download`: writing images to a folder;
* :mod:`~cloudml_edu.datasets.versions`: list, download, delete, share versions.
"""

from cloudml_edu.datasets.core import Dataset, open_dataset, upload_dataset
from cloudml_edu.datasets.upload import read_manifest
from cloudml_edu.datasets.versions import (
    SharedVersion,
    VersionInfo,
    delete_version,
    download_version,
    list_versions,
    share_version,
)

__all__ = [
    "Dataset",
    "SharedVersion",
    "VersionInfo",
    "delete_version",
    "download_version",
    "list_versions",
    "open_dataset",
    "read_manifest",
    "share_version",
    "upload_dataset",
]
