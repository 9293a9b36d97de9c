"""Two uploads to one dataset version at once: different images conflict, nothing stray is left."""

from __future__ import annotations

import json
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from cloudml_edu import ConflictError, Dataset, ServiceError
from cloudml_edu.datasets import open_dataset, upload_dataset
from cloudml_edu.datasets.upload import STALE_CLAIM_SECONDS
from cloudml_edu.manifest import claim_key
from cloudml_edu.storage.local import LocalStore

PREFIX = "o/pets/1"


class _PausingStore(LocalStore):
    """Holds every image PUT until ``go`` is set (an upload caught in the middle)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.paused, self.go = threading.Event(), threading.Event()
        self.fail_puts = False

    def put_file(self, key: str, path: Path, *, md5: str) -> str:
        if self.fail_puts:
            raise ServiceError("injected: the network went away; run it again")
        self.paused.set()
        assert self.go.wait(timeout=30)
        return super().put_file(key, path, md5=md5)


def _upload(dataset: Dataset, store: LocalStore) -> Dataset:
    manifest = dataset.manifest.model_copy(update={"owner": "o", "name": "pets", "version": "1"})
    return upload_dataset(dataset, manifest, store, progress=False)


@pytest.fixture
def other_dir(tiny_dir: Path, tmp_path: Path) -> Path:
    """``tiny_dir`` with one image changed: different images, same names."""
    other = tmp_path / "other"
    shutil.copytree(tiny_dir, other)
    Image.new("L", (24, 24), 128).save(other / "circle" / "0.png")
    return other


def _keys(store: LocalStore) -> set[str]:
    return {info.key for info in store.list(f"{PREFIX}/")}


def test_different_images_to_one_version_conflict_before_writing(
    tiny_dir: Path, other_dir: Path, tmp_path: Path
) -> None:
    store = _PausingStore(tmp_path / "store")
    first, second = Dataset.from_folder(tiny_dir), Dataset.from_folder(other_dir)
    with ThreadPoolExecutor(1) as pool:
        running: Future[Dataset] = pool.submit(_upload, first, store)
        assert store.paused.wait(timeout=30)
        before = _keys(store)
        claim = json.loads((store.root / claim_key(PREFIX)).read_text())
        assert claim["content"].startswith(first.manifest.fingerprint())

        with pytest.raises(ConflictError, match=r"another upload of different images to o/pets/1"):
            _upload(second, LocalStore(store.root))
        assert _keys(store) == before  # the loser wrote nothing, and deleted nothing
        store.go.set()
        uploaded = running.result(timeout=60)

    assert claim_key(PREFIX) not in _keys(store)  # released once done
    assert not list(store.root.rglob("*.partial"))
    stored = open_dataset(store, PREFIX)
    assert stored.manifest.fingerprint() == first.manifest.fingerprint()
    assert {r.path: d for r, d in stored.iter_bytes()} == {
        r.path: (tiny_dir / r.path).read_bytes() for r in uploaded.records
    }


def test_the_same_images_twice_at_once_both_succeed(tiny_dir: Path, tmp_path: Path) -> None:
    store = _PausingStore(tmp_path / "store")
    dataset = Dataset.from_folder(tiny_dir)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(_upload, dataset, store)
        assert store.paused.wait(timeout=30)
        twin = LocalStore(store.root)  # another process's view of the same store
        assert len(_upload(dataset, twin)) == len(dataset)  # the same upload, run twice
        store.go.set()
        assert len(running.result(timeout=60)) == len(dataset)
    assert open_dataset(store, PREFIX).manifest.fingerprint() == dataset.manifest.fingerprint()


def test_a_failed_upload_releases_the_version(
    tiny_dir: Path, other_dir: Path, tmp_path: Path
) -> None:
    store = _PausingStore(tmp_path / "store")
    store.fail_puts = True
    with pytest.raises(ServiceError, match="injected"):
        _upload(Dataset.from_folder(tiny_dir), store)
    assert claim_key(PREFIX) not in _keys(store)
    store.fail_puts = False
    store.go.set()
    other = Dataset.from_folder(other_dir)
    assert _upload(other, store).manifest.fingerprint() == other.manifest.fingerprint()


@pytest.mark.parametrize("age", [STALE_CLAIM_SECONDS + 60, None])
def test_a_claim_left_by_a_killed_upload_is_taken_over(
    tiny_dir: Path, tmp_path: Path, age: float | None
) -> None:
    from datetime import UTC, datetime, timedelta

    store = LocalStore(tmp_path / "store")
    started = datetime.now(UTC) - timedelta(seconds=age or 0)
    body = (
        json.dumps({"content": "f" * 32 + ":files", "started": started.isoformat()})
        if age
        else "not json"
    )
    assert store.put_new(claim_key(PREFIX), body.encode())
    assert not store.put_new(claim_key(PREFIX), b"again")  # exclusive
    dataset = Dataset.from_folder(tiny_dir)
    assert len(_upload(dataset, store)) == len(dataset)
    assert claim_key(PREFIX) not in _keys(store)
