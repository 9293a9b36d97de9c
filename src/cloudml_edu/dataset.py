"""Image-classification datasets: read a folder, check every image, split, upload, register.

A dataset is a :class:`~cloudml_edu.manifest.Manifest` (one record per image)
plus a source its bytes are read from: a local folder, or a version in a
workspace's store (after :meth:`Dataset.upload` or :meth:`Dataset.load`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cloudml_edu._images import check_image
from cloudml_edu._progress import track
from cloudml_edu.errors import DatasetError
from cloudml_edu.manifest import ImageRecord, Layout, Manifest
from cloudml_edu.workspace import resolve_workspace

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["Dataset"]

log = logging.getLogger(__name__)

_SAMPLES = ("digits",)


class Source(Protocol):
    """Where a dataset's bytes are read from."""

    @property
    def location(self) -> str: ...

    def iter_bytes(self, records: Sequence[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes]]:
        """Yield each record with its image bytes, in the given order."""
        ...


class FolderSource:
    """Images under a local folder, one sub-folder per class."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def location(self) -> str:
        return str(self.root)

    def path_of(self, record: ImageRecord) -> Path:
        return self.root / record.path

    def iter_bytes(self, records: Sequence[ImageRecord]) -> Iterator[tuple[ImageRecord, bytes]]:
        for record in records:
            yield record, self.path_of(record).read_bytes()


def _scan_file(root: Path, path: Path) -> tuple[ImageRecord | None, str | None]:
    import hashlib

    data = path.read_bytes()
    relative = path.relative_to(root).as_posix()
    found = check_image(data)
    if found.problem is not None:
        return None, f"{relative}: {found.problem}"
    record = ImageRecord(
        path=relative,
        label=relative.split("/", 1)[0],
        bytes=len(data),
        md5=hashlib.md5(data).hexdigest(),
        width=found.width,
        height=found.height,
        mode=found.mode,
    )
    return record, None


class Dataset:
    """An image-classification dataset. Build with :meth:`from_folder`, :meth:`sample` or :meth:`load`."""

    def __init__(self, manifest: Manifest, source: Source) -> None:
        self.manifest = manifest
        self.source = source

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
        root = Path(path).resolve()
        if not root.is_dir():
            raise DatasetError(
                f"{root} is not a folder: pass a folder with one sub-folder per class"
            )
        class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        stray = [p.name for p in root.iterdir() if p.is_file() and not p.name.startswith(".")]
        if stray:
            log.warning(
                "ignoring %d file(s) outside class folders in %s: %s", len(stray), root, stray[:5]
            )
        empty = [d.name for d in class_dirs if not any(_visible_files(d))]
        if empty:
            raise DatasetError(
                f"class folder(s) with no files in {root}: {', '.join(empty)}; "
                "add images or remove the folder",
                bad_files=empty,
            )
        if len(class_dirs) < 2:
            raise DatasetError(
                f"{root} has {len(class_dirs)} class folder(s); a classifier needs at least 2 "
                "(one sub-folder per class, e.g. images/cat/1.png, images/dog/2.png)"
            )
        files = [f for d in class_dirs for f in sorted(_visible_files(d))]
        records, problems = cls._scan(root, files, progress=progress)
        if problems:
            listing = "\n  ".join(problems)
            if not skip_invalid:
                found = f"{len(problems)} unusable file(s) in {root}:\n  {listing}\n"
                raise DatasetError(
                    found + "Remove or replace them, or pass skip_invalid=True to skip them.",
                    bad_files=[p.split(":", 1)[0] for p in problems],
                    cli_message=found + "Remove or replace them, or pass --skip-invalid.",
                )
            log.warning("skipping %d unusable file(s):\n  %s", len(problems), listing)
        manifest = Manifest(name=name or root.name, records=tuple(records))
        left = manifest.counts()
        now_empty = [d.name for d in class_dirs if left.get(d.name, 0) == 0]
        if now_empty or len(left) < 2:
            raise DatasetError(
                f"after skipping unusable files, class(es) {', '.join(now_empty)} have no images; "
                "add valid images to them",
                bad_files=now_empty,
            )
        return cls(manifest, FolderSource(root))

    @staticmethod
    def _scan(
        root: Path, files: list[Path], *, progress: bool | None
    ) -> tuple[list[ImageRecord], list[str]]:
        records: list[ImageRecord] = []
        problems: list[str] = []
        with (
            track("checking images", total=len(files), progress=progress) as bar,
            ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool,
        ):
            for record, problem in pool.map(lambda f: _scan_file(root, f), files):
                if record is not None:
                    records.append(record)
                if problem is not None:
                    problems.append(problem)
                bar.advance()
        return records, problems

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

        Incremental: objects whose MD5 already matches are not sent again.  The
        version counts as complete only once its manifest is written, last.
        ``layout="parquet"`` packs the images into Parquet shards of
        ``[storage] shard_size_mb`` (far fewer requests; what Spark tables read).
        """
        from cloudml_edu.storage.sync import upload_dataset

        ws = resolve_workspace(workspace)
        manifest = self.manifest.model_copy(
            update={
                "name": name or self.name,
                "version": version,
                "owner": ws.owner,
                "layout": layout,
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
        from cloudml_edu.storage.manage import download_dataset

        return download_dataset(self, dest, progress=progress)

    def register(
        self,
        workspace: Workspace | None = None,
        *,
        name: str | None = None,
        version: str | None = None,
    ) -> str:
        """Upload (if needed) and record this dataset in the workspace catalog.

        Returns the table-shaped name ``hive_metastore.<schema>.<name>`` that
        :meth:`load` accepts, locally now and on Databricks later.
        """
        ws = resolve_workspace(workspace)
        wanted_version = version or self.manifest.version or "1"
        uploaded = self
        if self.manifest.version != wanted_version or not self.source.location.startswith(
            ws.store.url
        ):
            uploaded = self.upload(ws, name=name, version=wanted_version)
        return ws.catalog.register(
            uploaded.manifest, store_url=ws.store.url, schema=ws.schema, name=name
        )

    @classmethod
    def load(cls, workspace: Workspace | None, name: str, *, version: str | None = None) -> Dataset:
        """A registered dataset by name (``digits`` or ``hive_metastore.<schema>.digits``)."""
        from cloudml_edu.storage.sync import open_dataset

        ws = resolve_workspace(workspace)
        entry = ws.catalog.get(name, version=version, schema=ws.schema)
        return open_dataset(ws.store, entry.prefix)


def _visible_files(folder: Path) -> Iterator[Path]:
    return (p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
