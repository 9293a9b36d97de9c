"""Blob storage decides who claims a version (``If-None-Match: *``); a loser sends nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloudml_edu import ConflictError, Dataset
from cloudml_edu.datasets import upload_dataset
from cloudml_edu.manifest import claim_key
from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.testing.faults import FaultProxy

pytestmark = pytest.mark.azurite


def test_put_new_creates_once(proxy: FaultProxy, make_store: Callable[..., BlobStore]) -> None:
    store = make_store(proxy.connection_string)
    assert store.put_new("o/x/1/_upload.json", b"first")
    assert not store.put_new("o/x/1/_upload.json", b"second")
    assert store.get_bytes("o/x/1/_upload.json") == b"first"
    sent = [s for s in proxy.seen if s.method == "PUT" and s.path.endswith("_upload.json")]
    assert [s.status for s in sent] == [201, 409]


def test_an_upload_of_other_images_in_progress_is_a_conflict(
    proxy: FaultProxy, make_store: Callable[..., BlobStore], png_dir: Path
) -> None:
    store = make_store(proxy.connection_string)
    held = {"content": "0" * 32 + ":files", "started": datetime.now(UTC).isoformat()}
    assert store.put_new(claim_key("o/faulty/1"), json.dumps(held).encode())
    dataset = Dataset.from_folder(png_dir, name="faulty")
    manifest = dataset.manifest.model_copy(update={"owner": "o", "version": "1"})
    with pytest.raises(ConflictError, match="o/faulty/1"):
        upload_dataset(dataset, manifest, store, progress=False)
    assert proxy.puts("o/faulty/1/files/") == []  # nothing sent
    assert not [s for s in proxy.seen if s.method == "DELETE"]  # nothing of theirs removed
    assert [i.key for i in store.list("o/faulty/1/")] == [claim_key("o/faulty/1")]
