"""Image-classification datasets: read a folder, check every image, split, upload, register.

A dataset is a :class:`~cloudml_edu.manifest.Manifest` (one record per image)
plus a :class:`~cloudml_edu.datasets.sources.Source` its bytes are read from: a
local folder, or a version in a workspace's store (after :meth:`Dataset.upload`
or :meth:`Dataset.load`).  This package alone builds ``Dataset`` objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cloudml_edu._checks import check_flag, check_number, check_path, check_text
from cloudml_edu._paths import ensure_dir, unsafe_reason, unsafe_relative
from cloudml_edu.datasets.download import download_records
from cloudml_edu.datasets.scan import scan_folder
from cloudml_edu.datasets.sources import FolderSource, Source, StoreSource
from cloudml_edu.datasets.upload import read_manifest, sync_version
from cloudml_edu.errors import DatasetError, NotFoundError
from cloudml_edu.manifest import (
    ImageRecord,
    Layout,
    Manifest,
    check_layout,
    check_name,
    check_version,
    version_prefix,
)
from cloudml_edu.storage.base import Store
from cloudml_edu.workspace import resolve_workspace

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["Dataset", "open_dataset", "upload_dataset"]

_SAMPLES = ("digits",)


class Dataset:
    """An image-classification dataset. Build with :meth:`from_folder`, :meth:`sample` or :meth:`load`."""

    def __init__(self, manifest: Manifest, source: Source, *, table: str | None = None) -> None:
        self.manifest = manifest
        self.source = source
        #: The catalog table it was loaded from (``hive_metastore.<schema>.<name>``), else None.
        self.table = table

    # ---- construction ------------------------------------------------------
    @classmethod
    def from_folder(
        cls,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        skip_invalid: bool = False,
        progress: bool | None = None,
    ) -> Dataset:
        """Read an ImageFolder layout: ``path/<class>/<image>``; every image is decoded.

        Corrupt, empty or non-image files raise :class:`DatasetError` listing each one,
        unless ``skip_invalid=True`` (then they are skipped with a warning).  An empty
        class folder, or fewer than two classes, always raise.
        """
        check_path(path, name="path")
        check_flag(skip_invalid, name="skip_invalid")
        check_flag(progress, name="progress", optional=True)
        if name is not None:
            check_name(name)
        root = Path(path).resolve()
        records, stamps = scan_folder(root, skip_invalid=skip_invalid, progress=progress)
        manifest = Manifest(name=name or root.name, records=tuple(records))
        return cls(manifest, FolderSource(root, stamps, own_folder=True))

    @classmethod
    def from_manifest(cls, manifest: Manifest, folder: str | os.PathLike[str]) -> Dataset:
        """The images ``manifest`` lists, read from ``folder/<label>/<file>`` (not re-checked):
        how a training job opens the version folder it was handed."""
        return cls(manifest, FolderSource(Path(folder)))

    @classmethod
    def sample(
        cls,
        name: str,
        dest: str | os.PathLike[str],
        *,
        size: int = 32,
        progress: bool | None = None,
    ) -> Dataset:
        """Write a bundled sample dataset as PNG class folders under ``dest`` (no download).

        ``"digits"``: scikit-learn's 1,797 handwritten digits (8x8, 10 classes), scaled
        to ``size`` x ``size`` grayscale PNGs.
        """
        check_path(dest, name="dest")
        check_number(size, name="size", integer=True, low=8, high=512)
        if name not in _SAMPLES:
            raise DatasetError(f"unknown sample {name!r}; choose one of: {', '.join(_SAMPLES)}")
        from cloudml_edu.samples import write_digits

        folder = write_digits(Path(dest), size=size)
        return cls.from_folder(folder, name=name, progress=progress)

    # ---- what it holds -----------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def classes(self) -> list[str]:
        return self.manifest.classes

    @property
    def records(self) -> tuple[ImageRecord, ...]:
        return self.manifest.records

    def counts(self) -> dict[str, int]:
        """Images per class."""
        return self.manifest.counts()

    def __len__(self) -> int:
        return len(self.manifest.records)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, images={len(self)}, classes={len(self.classes)}, "
            f"source={self.source.location!r})"
        )

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import dataset_html

        return dataset_html(self)

    def iter_bytes(self) -> Iterator[tuple[ImageRecord, bytes]]:
        """Each record with its image bytes."""
        return self.source.iter_bytes(self.records)

    def subset(self, records: Sequence[ImageRecord], *, suffix: str) -> Dataset:
        """A dataset of some of these records, read from the same source."""
        manifest = self.manifest.model_copy(
            update={"name": f"{self.name}-{suffix}", "records": tuple(records)}
        )
        return Dataset(manifest, self.source)

    def split(self, *, test_size: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
        """A deterministic stratified split into (train, test): same seed, same split."""
        check_number(test_size, name="test_size")
        check_number(seed, name="seed", integer=True)
        if not 0 < test_size < 1:
            raise DatasetError(f"test_size must be between 0 and 1, got {test_size}")
        too_small = [label for label, n in self.counts().items() if n < 2]
        if too_small:
            raise DatasetError(
                f"class(es) {', '.join(too_small)} have fewer than 2 images, so they cannot "
                "appear in both train and test; add images"
            )
        from sklearn.model_selection import train_test_split

        records = sorted(self.records, key=lambda r: r.path)
        n_test = max(round(len(records) * test_size), len(self.classes))
        try:
            train, test = train_test_split(
                records,
                test_size=n_test,
                random_state=seed,
                stratify=[r.label for r in records],
            )
        except ValueError as exc:
            raise DatasetError(
                f"cannot split {self.name}: {exc}; add images or change test_size"
            ) from exc
        return self.subset(train, suffix="train"), self.subset(test, suffix="test")

    # ---- workspace -----------------------------------------------------------
    def upload(
        self,
        workspace: Workspace | None = None,
        *,
        name: str | None = None,
        version: str = "1",
        layout: Layout = "files",
        progress: bool | None = None,
    ) -> Dataset:
        """Copy the images to the workspace's store; returns the dataset read from there.

        Incremental: objects whose MD5 already matches are not sent again.  Files
        changed since the dataset was read are read again first; a deleted one raises
        :class:`DatasetError` before anything is sent.  The version counts as complete
        only once its manifest is written, last.  ``layout="parquet"`` packs the images
        into Parquet shards of ``[storage] shard_size_mb`` (far fewer requests; what
        Spark tables read).
        """
        chosen = self._checked_name(name)
        check_version(version)
        check_layout(layout)
        check_flag(progress, name="progress", optional=True)
        records = self.source.current(self.records)
        ws = resolve_workspace(workspace)
        manifest = self.manifest.model_copy(
            update={
                "name": chosen,
                "version": version,
                "owner": ws.owner,
                "layout": layout,
                "records": records,
            }
        )
        shard_size_mb = ws.config.storage.shard_size_mb
        return upload_dataset(
            self, manifest, ws.store, progress=progress, shard_size_mb=shard_size_mb
        )

    def download(self, dest: str | os.PathLike[str], *, progress: bool | None = None) -> Dataset:
        """Write the images under ``dest/<label>/<file>``, concurrently, each verified by MD5.

        Works from any source (a store version in either layout, or a folder); files
        already in ``dest`` with the right MD5 are kept, so a rerun resumes.
        """
        check_path(dest, name="dest")
        check_flag(progress, name="progress", optional=True)
        root = ensure_dir(Path(dest).resolve(), what="download folder")
        download_records(self.source, self.records, root, progress=progress)
        return Dataset(self.manifest, FolderSource(root))

    def register(
        self,
        workspace: Workspace | None = None,
        *,
        name: str | None = None,
        version: str | None = None,
    ) -> str:
        """Upload (if needed) and record this dataset in the workspace catalog.

        Returns the table name ``hive_metastore.<schema>.<name>`` that :meth:`load`
        accepts: a local catalog row, or with ``[databricks] warehouse_id`` an
        external hive metastore table over the packed (Parquet) upload.  The dataset is
        uploaded unless it already is this version in the workspace's own store
        (same account and container, or same folder).
        """
        from cloudml_edu.backends import table_catalog

        self._checked_name(name)
        wanted_version = check_version(version or self.manifest.version or "1")
        ws = resolve_workspace(workspace)
        catalog = table_catalog(ws)
        uploaded = self
        prefix = _prefix_in(self.source, ws.store)
        packed = catalog.packed and self.manifest.layout != "parquet"
        if prefix is None or self.manifest.version != wanted_version or packed:
            layout: Layout = "parquet" if catalog.packed else self.manifest.layout
            uploaded = self.upload(ws, name=name, version=wanted_version, layout=layout)
            prefix = _prefix_in(uploaded.source, ws.store)
        assert prefix is not None  # an upload's result is in the store it went to
        return catalog.register(
            uploaded.manifest, prefix=prefix, store_url=ws.store.url, schema=ws.schema, name=name
        )

    def _checked_name(self, name: str | None) -> str:
        """``name``, or this dataset's own (its folder's) name, checked before any write."""
        if name is not None:
            return check_name(name)
        return check_name(self.name, argument="name (the folder's name by default; pass name=...)")

    @classmethod
    def load(cls, workspace: Workspace | None, name: str, *, version: str | None = None) -> Dataset:
        """A registered dataset by name (``digits`` or ``hive_metastore.<schema>.digits``);
        its :attr:`table` is the full table name."""
        check_text(name, name="name", example="'pets'")
        check_text(version, name="version", optional=True, example="'1'")
        from cloudml_edu.backends import table_catalog

        ws = resolve_workspace(workspace)
        entry = table_catalog(ws).get(name, version=version, schema=ws.schema)
        if unsafe_reason(entry.prefix) is not None:
            row = f"catalog row {entry.full_name} version {entry.version}"
            raise unsafe_relative(entry.prefix, source=row)
        dataset = open_dataset(ws.store, entry.prefix)
        dataset.table = entry.full_name
        return dataset


def _prefix_in(source: Source, store: Store) -> str | None:
    """The key prefix of ``source``'s version when it is in ``store`` (same account and
    container, or same folder: compared by identity, not by URL prefix), else None."""
    stored = source.stored_at()
    if stored is None or stored[0].identity != store.identity:
        return None
    return stored[1]


def open_dataset(store: Store, prefix: str) -> Dataset:
    """The complete version at ``prefix``; raises NotFoundError for a missing or unfinished one."""
    manifest = read_manifest(store, prefix)
    if manifest is None:
        missing = (
            f"no complete dataset at {store.url}/{prefix}: the upload never finished or the "
            "version was deleted"
        )
        raise NotFoundError(
            f"{missing}; run Dataset.upload(...) again (it resumes)",
            cli_message=f"{missing}; run `cloudml-edu dataset upload` again (it resumes)",
        )
    return Dataset(manifest, StoreSource(store, prefix, manifest))


def upload_dataset(
    dataset: Dataset,
    manifest: Manifest,
    store: Store,
    *,
    progress: bool | None = None,
    shard_size_mb: int = 64,
) -> Dataset:
    """Sync ``dataset``'s images to ``store`` as ``manifest`` describes (see
    :func:`~cloudml_edu.datasets.upload.sync_version`); returns the dataset read from there."""
    stored = sync_version(
        dataset.source, manifest, store, progress=progress, shard_size_mb=shard_size_mb
    )
    prefix = version_prefix(stored.owner, stored.name, stored.version)
    return Dataset(stored, StoreSource(store, prefix, stored))
