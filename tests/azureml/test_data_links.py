"""A link planted in a local folder azure-ai-ml would upload is never followed out of it.

azure-ai-ml uploads a local ``uri_folder`` path (or a model folder) by walking it and
following links; ``ensure_data`` hands it a staged copy holding only the manifest's
records, and a model folder with a link out is refused, so the bytes a link leads to
(``/etc/passwd``, ``~/.ssh``) are never sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudml_edu import Dataset, Workspace
from cloudml_edu.backends.azureml import assets
from cloudml_edu.backends.azureml.connection import client_for
from cloudml_edu.errors import UnsafePathError
from cloudml_edu.manifest import MANIFEST_NAME, Manifest

SECRET = b"root:x:0:0:SECRET-PASSWD-LINE\n"
KEY = b"-----BEGIN OPENSSH PRIVATE KEY----- SECRET-SSH-KEY"


def _outside(tmp_path: Path) -> tuple[Path, Path]:
    """A file and a folder outside the dataset: what a planted link leads to."""
    outside = tmp_path / "outside"
    (outside / "ssh").mkdir(parents=True)
    (outside / "passwd").write_bytes(SECRET)
    (outside / "ssh" / "id_ed25519").write_bytes(KEY)
    return outside / "passwd", outside / "ssh"


def _plant(folder: Path, passwd: Path, ssh: Path) -> None:
    (folder / "cat" / "passwd.png").symlink_to(passwd)
    (folder / "dog" / ".ssh").symlink_to(ssh, target_is_directory=True)
    (folder / "notes").symlink_to(passwd)


def _stored(images: Path, tmp_path: Path, **upload: str) -> tuple[Dataset, Path]:
    """The images uploaded to a local workspace's store, and that version's ``files`` folder."""
    stored = Dataset.from_folder(images, progress=False).upload(
        Workspace.local(tmp_path / "local"), progress=False, **upload
    )
    folder = stored.source.local_folder()
    assert folder is not None
    return stored, folder


def _sent_anywhere(fake, needle: bytes) -> bool:
    return any(needle in blob for blob in fake.blobs.values()) or any(
        needle in r.data for r in fake.requests
    )


def _uploaded_files(fake) -> dict[str, bytes]:
    """The data asset's blobs, by their path under the uploaded folder."""
    found = {}
    for key, blob in fake.blobs.items():
        if "/LocalUpload/" in key and "/cloudml_edu/" not in key:
            found[key.split("/", 3)[3].split("/", 1)[1]] = blob
    return found


def test_links_in_an_image_folder_are_never_uploaded(mock_azure_ml, images, tmp_path):
    passwd, ssh = _outside(tmp_path)
    ds = Dataset.from_folder(images, progress=False)
    _plant(images, passwd, ssh)
    ws = mock_azure_ml.workspace

    asset = assets.ensure_data(ws, client_for(ws), ds, trust_known=False)

    assert asset.startswith("azureml:")
    assert not _sent_anywhere(mock_azure_ml, SECRET) and not _sent_anywhere(mock_azure_ml, KEY)
    uploaded = _uploaded_files(mock_azure_ml)
    records = {f"files/{r.path}": (images / r.path).read_bytes() for r in ds.manifest.records}
    assert {k: v for k, v in uploaded.items() if k != MANIFEST_NAME} == records
    sent_manifest = Manifest.model_validate_json(uploaded[MANIFEST_NAME])
    assert sent_manifest.records == ds.manifest.records
    # uploaded: the staged copy is not kept (one per dataset version would pile up)
    assert not any((ws.root / "azureml" / "data").rglob("*.png"))


def test_a_stored_version_with_a_link_beside_its_records_uploads_only_the_records(
    mock_azure_ml, images, tmp_path
):
    passwd, ssh = _outside(tmp_path)
    stored, folder = _stored(images, tmp_path)
    _plant(folder, passwd, ssh)
    ws = mock_azure_ml.workspace

    assets.ensure_data(ws, client_for(ws), stored, trust_known=False)

    assert not _sent_anywhere(mock_azure_ml, SECRET) and not _sent_anywhere(mock_azure_ml, KEY)
    assert {k for k in _uploaded_files(mock_azure_ml) if k != MANIFEST_NAME} == {
        f"files/{r.path}" for r in stored.manifest.records
    }


def test_a_record_that_is_a_link_out_of_its_version_is_refused_before_sending(
    mock_azure_ml, images, tmp_path
):
    passwd, _ = _outside(tmp_path)
    stored, folder = _stored(images, tmp_path)
    record = stored.manifest.records[0]
    (folder / record.path).unlink()
    (folder / record.path).symlink_to(passwd)
    ws = mock_azure_ml.workspace
    client = client_for(ws)
    sent = len(mock_azure_ml.requests)

    with pytest.raises(UnsafePathError, match=rf"{stored.name}.*{record.path}") as caught:
        assets.ensure_data(ws, client, stored, trust_known=False)

    assert stored.manifest.version in str(caught.value)
    assert not _sent_anywhere(mock_azure_ml, SECRET)
    assert [r for r in mock_azure_ml.requests[sent:] if ".blob." in r.url] == []


def test_a_parquet_version_is_staged_as_the_files_the_job_reads(mock_azure_ml, images, tmp_path):
    stored = Dataset.from_folder(images, progress=False).upload(
        Workspace.local(tmp_path / "local"), layout="parquet", progress=False
    )
    folder = assets.upload_folder(mock_azure_ml.workspace, stored)

    staged = Dataset.from_manifest(
        Manifest.model_validate_json((folder / MANIFEST_NAME).read_text()), folder / "files"
    )
    assert dict(staged.source.iter_bytes(staged.manifest.records)) == {
        r: (images / r.path).read_bytes() for r in stored.manifest.records
    }
    assert assets.upload_folder(mock_azure_ml.workspace, stored) == folder  # staged once


def test_a_model_folder_with_a_link_out_is_refused_before_anything_is_uploaded(
    mock_azure_ml, tmp_path
):
    from cloudml_edu import Endpoint

    passwd, ssh = _outside(tmp_path)
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "inside.txt").write_text("fine")
    (model / "also-inside").symlink_to(model / "inside.txt")  # a link that stays inside is fine
    (model / "artifacts").symlink_to(ssh, target_is_directory=True)
    (model / "notes").symlink_to(passwd)

    with pytest.raises(UnsafePathError, match=r"model folder .*(artifacts|notes)"):
        Endpoint.deploy(model, workspace=mock_azure_ml.workspace, name="digits", target="azureml")

    assert not _sent_anywhere(mock_azure_ml, KEY) and not _sent_anywhere(mock_azure_ml, SECRET)
    assert [r for r in mock_azure_ml.requests if r.method in ("PUT", "POST")] == []
