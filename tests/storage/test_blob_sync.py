"""Dataset upload to Azurite: incremental, resumable after kill -9, atomic, both layouts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image

from cloudml_edu import Dataset, Workspace
from cloudml_edu.datasets import open_dataset, upload_dataset
from cloudml_edu.datasets.packed import COLUMNS
from cloudml_edu.errors import AuthError, ConflictError, NotFoundError
from cloudml_edu.manifest import CLAIM_NAME, MANIFEST_NAME, Layout
from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.testing.azurite import Azurite
from cloudml_edu.testing.faults import FaultProxy, Seen

pytestmark = pytest.mark.azurite


def _data_puts(proxy: FaultProxy, prefix: str) -> list[str]:
    """The objects sent under ``prefix``, leaving out the upload's claim marker."""
    return [key for key in proxy.puts(prefix) if not key.endswith(CLAIM_NAME)]


def _upload(
    dataset: Dataset,
    store: BlobStore,
    *,
    version: str = "1",
    layout: Layout = "files",
    shard_size_mb: int = 64,
) -> Dataset:
    manifest = dataset.manifest.model_copy(
        update={"owner": "o", "version": version, "layout": layout}
    )
    return upload_dataset(dataset, manifest, store, progress=False, shard_size_mb=shard_size_mb)


def _contents(dataset: Dataset) -> dict[str, bytes]:
    return {record.path: data for record, data in dataset.iter_bytes()}


def test_incremental_changed_and_stale(
    proxy: FaultProxy, make_store: Callable[..., BlobStore], png_dir: Path
) -> None:
    store = make_store(proxy.connection_string)
    first = _upload(Dataset.from_folder(png_dir, name="inc"), store)
    assert len(proxy.puts("o/inc/1/files/")) == 60

    proxy.seen.clear()
    _upload(Dataset.from_folder(png_dir, name="inc"), store)
    assert _data_puts(proxy, "o/inc/") == []  # unchanged: nothing sent, not even the manifest

    changed = png_dir / first.records[0].path
    Image.new("L", (8, 8), 123).save(changed)
    removed = png_dir / first.records[1].path
    removed.unlink()

    proxy.seen.clear()
    with pytest.raises(ConflictError, match="already holds other images"):
        _upload(Dataset.from_folder(png_dir, name="inc"), store)
    assert _data_puts(proxy, "o/inc/") == []  # a complete version is never changed
    # an interrupted upload of other images (no manifest): resumed, and its stale blob removed
    store.delete(f"o/inc/1/{MANIFEST_NAME}")
    proxy.seen.clear()
    second = _upload(Dataset.from_folder(png_dir, name="inc"), store)
    assert _data_puts(proxy, "o/inc/") == [
        f"o/inc/1/files/{first.records[0].path}",
        f"o/inc/1/{MANIFEST_NAME}",
    ]
    keys = {info.key for info in store.list("o/inc/1/files/")}
    assert f"o/inc/1/files/{first.records[1].path}" not in keys  # the stale blob was deleted
    assert len(keys) == 59
    assert _contents(open_dataset(store, "o/inc/1")) == {
        r.path: (png_dir / r.path).read_bytes() for r in second.records
    }


def test_parquet_round_trip_byte_for_byte(
    proxy: FaultProxy,
    make_store: Callable[..., BlobStore],
    make_pngs: Callable[..., Path],
    tmp_path: Path,
) -> None:
    folder = make_pngs(tmp_path / "pngs", 300, size=64)  # ~1.3 MB
    store = make_store(proxy.connection_string)
    dataset = Dataset.from_folder(folder, name="packed")
    uploaded = _upload(dataset, store, layout="parquet", shard_size_mb=1)

    shards = uploaded.manifest.shards
    assert len(shards) >= 2 and all(s.startswith("shards/part-") for s in shards)
    assert (
        len(_data_puts(proxy, "o/packed/")) == len(shards) + 1
    )  # one request a shard, plus the manifest
    loaded = open_dataset(store, "o/packed/1")
    originals = {r.path: (folder / r.path).read_bytes() for r in dataset.records}
    assert _contents(loaded) == originals
    subset = [loaded.records[-1], loaded.records[0]]  # out of order, two shards
    assert [r.path for r, _ in loaded.source.iter_bytes(subset)] == [r.path for r in subset]

    store.download(f"o/packed/1/{shards[0]}", tmp_path / "shard.parquet")
    table = pq.read_table(tmp_path / "shard.parquet")
    assert tuple(table.column_names) == COLUMNS
    row = table.slice(0, 1).to_pylist()[0]
    assert row["data"] == originals[row["path"]] and row["label"] == row["path"].split("/")[0]

    proxy.seen.clear()
    _upload(dataset, store, layout="parquet", shard_size_mb=1)
    assert _data_puts(proxy, "o/packed/") == []  # unchanged: nothing rebuilt or sent

    downloaded = loaded.download(tmp_path / "copy", progress=False)
    assert {
        r.path: (tmp_path / "copy" / r.path).read_bytes() for r in downloaded.records
    } == originals


def test_layout_switch_replaces_objects(
    azurite: Azurite, make_store: Callable[..., BlobStore], png_dir: Path
) -> None:
    store = make_store(azurite.connection_string)
    dataset = Dataset.from_folder(png_dir, name="switch")
    _upload(dataset, store, layout="files")
    _upload(dataset, store, layout="parquet")
    keys = {info.key for info in store.list("o/switch/1/")}
    assert not any("/files/" in key for key in keys)
    assert _contents(open_dataset(store, "o/switch/1")) == _contents(dataset)


def test_incomplete_version_never_loads(
    proxy: FaultProxy, make_store: Callable[..., BlobStore], png_dir: Path
) -> None:
    store = make_store(proxy.connection_string, max_concurrency=2)
    dataset = Dataset.from_folder(png_dir, name="half")
    _upload(dataset, store)

    # the same images in the other layout: the manifest is withdrawn while the shards go up
    proxy.fault = lambda seen: 403 if seen.method == "PUT" and "/shards/" in seen.path else None
    with pytest.raises(AuthError, match="refused"):
        _upload(Dataset.from_folder(png_dir, name="half"), store, layout="parquet")
    with pytest.raises(NotFoundError, match="never finished"):
        open_dataset(store, "o/half/1")  # the old manifest was withdrawn, the new one not written


_CRASH_SCRIPT = textwrap.dedent(
    """
    import sys
    from cloudml_edu import Dataset
    from cloudml_edu.storage.blob import BlobStore
    from cloudml_edu.datasets import upload_dataset

    connection_string, container, folder = sys.argv[1:]
    store = BlobStore(connection_string=connection_string, container=container, max_concurrency=4)
    dataset = Dataset.from_folder(folder, name="crash", progress=False)
    manifest = dataset.manifest.model_copy(update={"owner": "o", "version": "1"})
    print("ready", flush=True)
    upload_dataset(dataset, manifest, store, progress=False)
    print("finished", flush=True)
    """
)


def test_kill_9_mid_upload_then_rerun_sends_only_what_is_missing(
    proxy: FaultProxy,
    make_store: Callable[..., BlobStore],
    make_pngs: Callable[..., Path],
    tmp_path: Path,
) -> None:
    folder = make_pngs(tmp_path / "pngs", 300)
    store = make_store(proxy.connection_string, max_concurrency=4)
    store.ensure_container()
    killed = threading.Event()
    child: list[subprocess.Popen[str]] = []

    def kill_after_100(seen: Seen) -> None:
        if not killed.is_set() and len(_data_puts(proxy, "o/crash/")) >= 100:
            killed.set()
            os.kill(child[0].pid, signal.SIGKILL)

    proxy.on_forwarded = kill_after_100
    env = {**os.environ, "CLOUDML_NO_PROGRESS": "1"}
    command = [sys.executable, "-c", _CRASH_SCRIPT, proxy.connection_string, store.container]
    child.append(
        subprocess.Popen([*command, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    )
    out, _ = child[0].communicate(timeout=60)
    assert child[0].returncode == -signal.SIGKILL and "finished" not in out
    with pytest.raises(NotFoundError):
        open_dataset(store, "o/crash/1")

    dataset = Dataset.from_folder(folder, name="crash")
    expected = {f"o/crash/1/files/{r.path}": r.md5 for r in dataset.records}
    verified = {i.key for i in store.list("o/crash/1/") if expected.get(i.key) == i.md5}
    assert 100 <= len(verified) < 300

    proxy.on_forwarded = None
    proxy.seen.clear()
    _upload(dataset, store)
    resent = proxy.puts("o/crash/1/files/")
    assert not set(resent) & verified  # nothing already verified was sent twice
    assert set(resent) | verified == set(expected)
    assert _contents(open_dataset(store, "o/crash/1")) == _contents(dataset)


def test_workspace_upload_load_and_register(
    azurite: Azurite, tmp_path: Path, png_dir: Path
) -> None:
    config = tmp_path / "cloudml.toml"
    config.write_text(
        'owner = "ada"\nroot = "ws"\n[storage]\nkind = "azure_blob"\ncontainer = "wsdata"\n'
        f'connection_string = "{azurite.connection_string}"\n'
    )
    ws = Workspace.from_config(config)
    assert isinstance(ws.store, BlobStore)
    dataset = Dataset.from_folder(png_dir, name="digits")
    table = dataset.upload(ws, layout="parquet", progress=False).register(ws)
    loaded = Dataset.load(ws, table)
    assert loaded.manifest.layout == "parquet"
    assert _contents(loaded) == _contents(dataset)


def test_a_version_in_container_cloudml2_is_not_in_cloudml(
    azurite: Azurite, tmp_path: Path, png_dir: Path
) -> None:
    config = tmp_path / "cloudml.toml"
    config.write_text(
        'owner = "o"\nroot = "ws"\n[storage]\nkind = "azure_blob"\ncontainer = "cloudml"\n'
        f'connection_string = "{azurite.connection_string}"\n'
    )
    ws = Workspace.from_config(config)
    neighbour = BlobStore(connection_string=azurite.connection_string, container="cloudml2")
    try:
        elsewhere = _upload(Dataset.from_folder(png_dir, name="twin"), neighbour)
        assert elsewhere.source.location.startswith(ws.store.url)  # what the old check compared
        assert elsewhere.source.stored_at() == (neighbour, "o/twin/1")
        assert neighbour.identity != ws.store.identity

        table = elsewhere.register(ws)
        assert len(list(ws.store.list("o/twin/1/files/"))) == 60  # uploaded to cloudml
        loaded = Dataset.load(ws, table)
        assert loaded.source.stored_at() == (ws.store, "o/twin/1")
        assert _contents(loaded) == _contents(elsewhere)
    finally:
        neighbour.close()


def test_an_upload_lists_the_version_once(
    proxy: FaultProxy, make_store: Callable[..., BlobStore], png_dir: Path
) -> None:
    store = make_store(proxy.connection_string)
    store.ensure_container()
    proxy.seen.clear()
    _upload(Dataset.from_folder(png_dir, name="once"), store)
    listings = [s for s in proxy.seen if s.method == "GET" and s.path.count("/") == 2]
    assert len(listings) == 1  # sent objects are verified from the MD5 each Put Blob answered
    assert len(proxy.puts("o/once/1/files/")) == 60
