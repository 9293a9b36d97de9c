"""Dataset: reading folders, rejecting bad input, splitting, uploading, registering."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudml_edu import Dataset, DatasetError, NotFoundError, ServiceError, Workspace
from cloudml_edu.datasets import upload_dataset
from cloudml_edu.errors import ConfigError
from cloudml_edu.storage import LocalStore, ObjectInfo


def test_from_folder_builds_a_manifest_of_every_image(tiny_dir: Path) -> None:
    ds = Dataset.from_folder(tiny_dir)
    assert len(ds) == 24
    assert ds.classes == ["circle", "cross", "square"]
    assert ds.counts() == {"circle": 8, "cross": 8, "square": 8}
    record = next(r for r in ds.records if r.path == "circle/0.png")
    assert (record.label, record.width, record.height, record.mode) == ("circle", 24, 24, "L")
    assert record.md5 == hashlib.md5((tiny_dir / "circle/0.png").read_bytes()).hexdigest()


def test_corrupt_empty_and_non_image_files_are_listed(tiny_dir: Path) -> None:
    (tiny_dir / "circle" / "empty.png").write_bytes(b"")
    (tiny_dir / "square" / "notes.txt").write_text("not an image")
    good = (tiny_dir / "cross" / "0.png").read_bytes()
    (tiny_dir / "cross" / "truncated.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError) as caught:
        Dataset.from_folder(tiny_dir)
    assert sorted(caught.value.bad_files) == [
        "circle/empty.png",
        "cross/truncated.png",
        "square/notes.txt",
    ]
    assert "skip_invalid=True" in str(caught.value)


def test_skip_invalid_skips_with_a_warning(
    tiny_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tiny_dir / "circle" / "empty.png").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        ds = Dataset.from_folder(tiny_dir, skip_invalid=True)
    assert len(ds) == 24
    assert "circle/empty.png" in caplog.text


def test_empty_class_and_single_class_are_rejected(tiny_dir: Path) -> None:
    (tiny_dir / "empty_class").mkdir()
    with pytest.raises(DatasetError, match="empty_class"):
        Dataset.from_folder(tiny_dir)
    (tiny_dir / "empty_class").rmdir()
    shutil.rmtree(tiny_dir / "circle")
    shutil.rmtree(tiny_dir / "square")
    with pytest.raises(DatasetError, match="at least 2"):
        Dataset.from_folder(tiny_dir)


def test_a_class_left_empty_by_skipping_is_rejected(tiny_dir: Path) -> None:
    for path in (tiny_dir / "circle").iterdir():
        path.write_bytes(b"broken")
    with pytest.raises(DatasetError, match="circle"):
        Dataset.from_folder(tiny_dir, skip_invalid=True)


def test_missing_folder_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="one sub-folder per class"):
        Dataset.from_folder(tmp_path / "nope")


def test_split_is_stratified_and_deterministic(digits_dir: Path) -> None:
    ds = Dataset.from_folder(digits_dir)
    train, test = ds.split(test_size=0.2, seed=3)
    _, again_test = ds.split(test_size=0.2, seed=3)
    other_train, _ = ds.split(test_size=0.2, seed=4)
    assert [r.path for r in test.records] == [r.path for r in again_test.records]
    assert [r.path for r in train.records] != [r.path for r in other_train.records]
    assert {r.path for r in train.records}.isdisjoint(r.path for r in test.records)
    assert len(train) + len(test) == len(ds)
    for label, total in ds.counts().items():
        assert abs(test.counts()[label] - total * 0.2) <= 1


def test_split_rejects_a_class_with_one_image(tiny_dir: Path) -> None:
    for path in sorted((tiny_dir / "circle").iterdir())[1:]:
        path.unlink()
    with pytest.raises(DatasetError, match="fewer than 2"):
        Dataset.from_folder(tiny_dir).split()


def _mtimes(workspace: Workspace, prefix: str) -> dict[str, int]:
    root = Path(workspace.store.url.removeprefix("file://"))
    return {info.key: (root / info.key).stat().st_mtime_ns for info in workspace.store.list(prefix)}


def test_upload_is_incremental_and_loads_back_byte_for_byte(
    tiny_dir: Path, workspace: Workspace
) -> None:
    first = Dataset.from_folder(tiny_dir).upload(workspace)
    before = _mtimes(workspace, "student/tiny/1/files/")
    assert len(before) == 24
    workspace.store.delete("student/tiny/1/files/circle/0.png")  # an interrupted upload
    workspace.store.delete("student/tiny/1/_manifest.json")
    again = Dataset.from_folder(tiny_dir).upload(workspace)
    after = _mtimes(workspace, "student/tiny/1/files/")
    assert [key for key in after if after[key] != before.get(key)] == [
        "student/tiny/1/files/circle/0.png"
    ]  # only the missing image was sent again
    for record, data in again.iter_bytes():
        assert data == (tiny_dir / record.path).read_bytes()
    assert first.manifest.fingerprint() == again.manifest.fingerprint()


def test_other_images_never_replace_a_complete_version(
    tiny_dir: Path, workspace: Workspace
) -> None:
    from cloudml_edu.errors import ConflictError

    first = Dataset.from_folder(tiny_dir).upload(workspace)
    before = _mtimes(workspace, "student/tiny/")
    original = (tiny_dir / "circle" / "0.png").read_bytes()
    (tiny_dir / "circle" / "0.png").write_bytes((tiny_dir / "square" / "0.png").read_bytes())
    changed = Dataset.from_folder(tiny_dir)
    with pytest.raises(ConflictError, match=r"version 1 .*already holds other images.*'2'"):
        changed.upload(workspace)
    assert _mtimes(workspace, "student/tiny/") == before  # nothing written or deleted
    second = changed.upload(workspace, version="2")
    assert second.manifest.fingerprint() != first.manifest.fingerprint()
    stored = {r.path: d for r, d in first.iter_bytes()}  # version 1 reads back, verified
    assert stored["circle/0.png"] == original


def test_an_unfinished_upload_is_never_loaded(tiny_dir: Path, workspace: Workspace) -> None:
    Dataset.from_folder(tiny_dir).upload(workspace)
    workspace.store.delete("student/tiny/1/_manifest.json")
    from cloudml_edu.datasets import open_dataset

    with pytest.raises(NotFoundError, match="never finished"):
        open_dataset(workspace.store, "student/tiny/1")


def test_register_and_load_by_short_or_table_name(tiny_dir: Path, workspace: Workspace) -> None:
    name = Dataset.from_folder(tiny_dir).register(workspace, name="shapes", version="2")
    assert name == "hive_metastore.cloudml_student.shapes"
    loaded = Dataset.load(workspace, "shapes")
    same = Dataset.load(workspace, "hive_metastore.cloudml_student.shapes", version="2")
    assert loaded.manifest.fingerprint() == same.manifest.fingerprint()
    assert loaded.counts() == {"circle": 8, "cross": 8, "square": 8}
    with pytest.raises(NotFoundError, match="shapes"):
        Dataset.load(workspace, "shapes", version="9")
    with pytest.raises(ConfigError, match="not a valid table name"):
        Dataset.load(workspace, "bad name!")


def test_sample_digits_is_written_offline(digits_dir: Path) -> None:
    ds = Dataset.from_folder(digits_dir)
    assert len(ds) == 1797
    assert ds.classes == [str(d) for d in range(10)]
    with pytest.raises(DatasetError, match="digits"):
        Dataset.sample("imagenet", digits_dir.parent / "x")


def test_load_keeps_the_catalog_table_name(tiny_dir: Path, workspace: Workspace) -> None:
    Dataset.from_folder(tiny_dir).register(workspace, name="shapes")
    assert Dataset.load(workspace, "shapes").table == "hive_metastore.cloudml_student.shapes"
    assert Dataset.from_folder(tiny_dir).table is None


def test_a_source_says_where_its_files_are(tiny_dir: Path, workspace: Workspace) -> None:
    folder = Dataset.from_folder(tiny_dir)
    assert folder.source.local_folder() == tiny_dir.resolve()
    files = folder.upload(workspace)
    local = files.source.local_folder()
    assert local is not None
    assert (local / "circle" / "0.png").read_bytes() == (tiny_dir / "circle" / "0.png").read_bytes()
    packed = folder.upload(workspace, version="2", layout="parquet")
    assert packed.source.local_folder() is None  # shards: the bytes must be read out


def test_register_uploads_unless_already_in_this_store(
    tiny_dir: Path, workspace: Workspace, tmp_path: Path
) -> None:
    uploaded = Dataset.from_folder(tiny_dir).upload(workspace)
    assert uploaded.source.stored_at() == (workspace.store, "student/tiny/1")
    before = _mtimes(workspace, "student/")
    uploaded.register(workspace)
    assert _mtimes(workspace, "student/") == before  # nothing sent again

    other = Workspace.local(tmp_path / "other")
    assert other.store.identity != workspace.store.identity
    uploaded.register(other)
    assert len(_mtimes(other, "student/tiny/1/files/")) == 24


def test_importing_storage_does_not_import_the_dataset_layer() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cloudml_edu.storage, cloudml_edu.storage.local, cloudml_edu.storage.blob;"
        "print(sorted(m for m in sys.modules if m.startswith('cloudml_edu.data')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _AnsweringStore(LocalStore):
    """A local store that counts listings and can answer a wrong MD5 for uploads."""

    def __init__(self, root: Path, *, wrong_answer: bool = False) -> None:
        super().__init__(root)
        self.listings = 0
        self.wrong_answer = wrong_answer

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self.listings += 1
        return super().list(prefix)

    def put_file(self, key: str, path: Path, *, md5: str) -> str:
        stored = super().put_file(key, path, md5=md5)
        return "0" * 32 if self.wrong_answer else stored


def test_upload_lists_once_and_verifies_from_the_stores_answers(
    tiny_dir: Path, tmp_path: Path
) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    manifest = dataset.manifest.model_copy(update={"owner": "o", "version": "1"})
    store = _AnsweringStore(tmp_path / "store")
    upload_dataset(dataset, manifest, store, progress=False)
    assert store.listings == 1

    liar = _AnsweringStore(tmp_path / "liar", wrong_answer=True)
    with pytest.raises(ServiceError, match="did not verify"):
        upload_dataset(dataset, manifest, liar, progress=False)
    assert liar.info("o/tiny/1/_manifest.json") is None  # never committed


def test_local_store_refuses_a_file_that_no_longer_matches_its_md5(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    source = tmp_path / "a.bin"
    source.write_bytes(b"old")
    old_md5 = hashlib.md5(b"old").hexdigest()
    assert store.put_file("k", source, md5=old_md5) == old_md5
    source.write_bytes(b"new content")
    with pytest.raises(DatasetError, match="changed since the dataset was read"):
        store.put_file("k", source, md5=old_md5)
    assert store.get_bytes("k") == b"old"  # unchanged
    assert [p.name for p in (tmp_path / "store").iterdir() if p.name.endswith(".partial")] == []
