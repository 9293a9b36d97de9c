"""The packed layout and version management on a local workspace (no emulator needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudml_edu import Dataset, Workspace
from cloudml_edu.datasets import delete_version, download_version, list_versions
from cloudml_edu.datasets.packed import _groups
from cloudml_edu.errors import NotFoundError


def test_parquet_on_a_local_workspace(tmp_path: Path, png_dir: Path) -> None:
    ws = Workspace.local(tmp_path / "ws", owner="lee")
    dataset = Dataset.from_folder(png_dir, name="loc")
    table = dataset.upload(ws, layout="parquet", progress=False).register(ws)
    loaded = Dataset.load(ws, table)
    assert {r.path: b for r, b in loaded.iter_bytes()} == {
        r.path: b for r, b in dataset.iter_bytes()
    }
    [version] = list_versions(ws)
    assert (version.name, version.layout, version.images, version.objects) == (
        "loc",
        "parquet",
        60,
        2,
    )

    copy = download_version(ws, "loc", tmp_path / "copy", version="1", progress=False)
    assert all(
        (tmp_path / "copy" / r.path).read_bytes() == (png_dir / r.path).read_bytes()
        for r in copy.records
    )
    assert delete_version(ws, "loc", version="1", progress=False) == 1
    with pytest.raises(NotFoundError):
        Dataset.load(ws, table)  # forgotten by the catalog too


def test_shard_groups_are_consecutive_and_bounded(png_dir: Path) -> None:
    records = Dataset.from_folder(png_dir).records
    limit = sum(r.bytes for r in records) // 4
    groups = _groups(records, limit)
    assert [r for g in groups for r in g] == list(records)
    assert all(sum(r.bytes for r in g) <= limit for g in groups) and len(groups) >= 4
    assert len(_groups(records[:1], 1)) == 1  # an image larger than a shard gets its own
