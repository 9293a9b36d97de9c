"""Managing dataset versions on Azurite: list, download, delete, share; and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from cloudml_edu import Dataset, Workspace
from cloudml_edu.cli.dataset import app
from cloudml_edu.datasets import delete_version, download_version, list_versions, share_version
from cloudml_edu.errors import ConfigError, DatasetError, NotFoundError
from cloudml_edu.manifest import MANIFEST_NAME
from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.testing.azurite import ACCOUNT_KEY, Azurite
from cloudml_edu.testing.faults import FaultProxy

pytestmark = pytest.mark.azurite


def _workspace(tmp_path: Path, connection_string: str, container: str) -> Path:
    config = tmp_path / "cloudml.toml"
    config.write_text(
        f'owner = "ada"\nroot = "ws"\n[storage]\nkind = "azure_blob"\ncontainer = "{container}"\n'
        f'connection_string = "{connection_string}"\n'
    )
    return config


@pytest.fixture
def ws(tmp_path: Path, proxy: FaultProxy, container_name: str) -> Workspace:
    return Workspace.from_config(_workspace(tmp_path, proxy.connection_string, container_name))


def test_list_download_delete(
    ws: Workspace, proxy: FaultProxy, png_dir: Path, tmp_path: Path
) -> None:
    dataset = Dataset.from_folder(png_dir, name="cats")
    dataset.upload(ws, version="1", progress=False)
    dataset.upload(ws, version="2", layout="parquet", progress=False)
    ws.store.put_bytes("ada/cats/3/files/class0/partial.png", b"an unfinished upload")

    found = {v.version: v for v in list_versions(ws)}
    assert found["1"].complete and found["1"].layout == "files" and found["1"].images == 60
    assert found["1"].objects == 61 and found["1"].bytes > dataset.manifest.total_bytes
    assert found["2"].layout == "parquet" and found["2"].objects == 2
    assert not found["3"].complete and found["3"].images is None

    for version in ("1", "2"):
        copy = download_version(
            ws, "cats", tmp_path / f"v{version}", version=version, progress=False
        )
        assert copy.source.location == str(tmp_path / f"v{version}") and len(copy) == 60
        for record in dataset.records:
            assert (tmp_path / f"v{version}" / record.path).read_bytes() == (
                png_dir / record.path
            ).read_bytes()

    proxy.seen.clear()
    download_version(ws, "cats", tmp_path / "v1", version="1", progress=False)
    assert not [s for s in proxy.seen if "/files/" in s.path]  # verified files are kept

    victim = dataset.records[5]
    ws.store.put_bytes(f"ada/cats/1/files/{victim.path}", b"tampered")
    with pytest.raises(DatasetError, match=r"does not match its manifest.*will not help"):
        download_version(ws, "cats", tmp_path / "fresh", version="1", progress=False)

    proxy.seen.clear()
    assert delete_version(ws, "cats", version="1", progress=False) == 60
    deletes = [s.path for s in proxy.seen if s.method == "DELETE"]
    assert deletes[0].endswith(f"/ada/cats/1/{MANIFEST_NAME}") and len(deletes) == 61
    with pytest.raises(NotFoundError):
        download_version(ws, "cats", tmp_path / "gone", version="1", progress=False)
    with pytest.raises(NotFoundError, match="already deleted"):
        delete_version(ws, "cats", version="1", progress=False)  # twice: it says so
    assert sorted(v.version for v in list_versions(ws)) == ["2", "3"]


def test_share_is_read_only_and_short_lived(ws: Workspace, png_dir: Path) -> None:
    dataset = Dataset.from_folder(png_dir, name="shared")
    dataset.upload(ws, progress=False)
    shared = share_version(ws, "shared", version="1", expires_in=timedelta(minutes=10))

    assert ACCOUNT_KEY not in shared.url and "sig=" in shared.url and "sp=r" in shared.url
    manifest = requests.get(shared.url, timeout=10)
    assert manifest.status_code == 200 and json.loads(manifest.content)["name"] == "shared"
    record = dataset.records[0]
    image = requests.get(shared.urls[f"files/{record.path}"], timeout=10)
    assert image.content == (png_dir / record.path).read_bytes()

    put = requests.put(shared.url, data=b"{}", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    delete = requests.delete(shared.urls[f"files/{record.path}"], timeout=10)
    assert put.status_code == 403 and delete.status_code == 403
    assert requests.get(shared.url, timeout=10).content == manifest.content


def test_share_needs_a_key_or_credential(
    azurite: Azurite, tmp_path: Path, png_dir: Path, container_name: str
) -> None:
    local = Workspace.local(tmp_path / "local")
    Dataset.from_folder(png_dir, name="x").upload(local, progress=False)
    with pytest.raises(ConfigError, match="azure_blob"):
        share_version(local, "x", version="1")
    store = BlobStore(
        account_url=azurite.account_url, sas_token="sv=2020&sig=abc", container=container_name
    )
    with pytest.raises(ConfigError, match="SAS token cannot"):
        store.read_urls(["a"], expires_in=timedelta(minutes=5))


def test_cli_round_trip(
    azurite: Azurite, tmp_path: Path, png_dir: Path, container_name: str
) -> None:
    config = str(_workspace(tmp_path, azurite.connection_string, container_name))
    runner = CliRunner()

    def run(*args: str) -> object:
        result = runner.invoke(app, [*args, "--config", config, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    uploaded = run("upload", str(png_dir), "--name", "cli", "--layout", "parquet")
    assert uploaded == {
        **uploaded,
        "images": 60,
        "layout": "parquet",
        "table": "hive_metastore.cloudml_ada.cli",
    }
    listed = run("list")
    assert [(v["name"], v["version"], v["complete"]) for v in listed] == [("cli", "1", True)]
    downloaded = run("download", "cli", str(tmp_path / "out"))
    assert downloaded["images"] == 60 and len(list((tmp_path / "out").rglob("*.png"))) == 60
    shared = run("share", "cli", "--hours", "0.5")
    assert requests.get(shared["url"], timeout=10).status_code == 200
    assert run("delete", "cli") == {"name": "cli", "version": "1", "deleted_objects": 1}
    assert run("list") == []
    failed = runner.invoke(app, ["upload", str(png_dir), "--layout", "zip", "--config", config])
    assert failed.exit_code != 0 and isinstance(failed.exception, ConfigError)
