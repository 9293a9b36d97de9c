"""Bad input for datasets: names, versions and layouts checked before any write; files that
change under the library; hidden files; duplicates; decompression bombs; 16-bit images."""

from __future__ import annotations

import hashlib
import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cloudml_edu import ConfigError, Dataset, DatasetError, Workspace
from cloudml_edu.cli.dataset import app
from cloudml_edu.datasets import delete_version, download_version


def _objects(workspace: Workspace) -> list[str]:
    return [info.key for info in workspace.store.list()]


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"name": "my pets"}, "name 'my pets'"),
        ({"layout": "zip"}, "layout 'zip'"),
        ({"version": "../pets/1"}, "version '../pets/1'"),
        ({"version": ""}, "version ''"),
    ],
)
def test_bad_names_versions_and_layouts_fail_before_any_upload(
    tiny_dir: Path, workspace: Workspace, options: dict[str, str], argument: str
) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    with pytest.raises(ConfigError, match=argument):
        dataset.upload(workspace, **options)  # type: ignore[arg-type]
    assert _objects(workspace) == []


def test_a_folder_name_that_is_no_dataset_name_says_pass_name(
    tiny_dir: Path, workspace: Workspace
) -> None:
    spaced = tiny_dir.rename(tiny_dir.with_name("my pets"))
    dataset = Dataset.from_folder(spaced)
    with pytest.raises(ConfigError, match=r"folder's name.*pass name="):
        dataset.upload(workspace)
    with pytest.raises(ConfigError, match="name 'my pets'"):
        Dataset.from_folder(spaced, name="my pets")
    assert dataset.upload(workspace, name="pets").name == "pets"


def test_a_version_with_dots_cannot_reach_another_dataset(
    tiny_dir: Path, workspace: Workspace
) -> None:
    Dataset.from_folder(tiny_dir).register(workspace, name="pets")
    before = _objects(workspace)
    for call in (
        lambda: Dataset.from_folder(tiny_dir).upload(workspace, name="x", version="../pets/1"),
        lambda: delete_version(workspace, "x", version="../pets/1"),
        lambda: delete_version(workspace, "../pets", version="1"),
        lambda: download_version(workspace, "pets", "out", version="../../pets/1"),
    ):
        with pytest.raises(ConfigError, match="not a valid dataset"):
            call()
    assert _objects(workspace) == before
    assert len(Dataset.load(workspace, "pets")) == 24


def test_the_cli_names_the_flag_and_uploads_nothing(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args, flag in (
        (["--name", "my pets"], "--name 'my pets'"),
        (["--version", "../x"], "--version '../x'"),
        (["--layout", "zip"], "--layout 'zip'"),
    ):
        result = runner.invoke(app, ["upload", str(tiny_dir), *args])
        assert isinstance(result.exception, ConfigError), result.output
        assert flag in str(result.exception)
    result = runner.invoke(app, ["delete", "pets", "--version", "../other/1", "--yes"])
    assert "--version '../other/1'" in str(result.exception)
    assert not (tmp_path / ".cloudml").exists()  # not even a workspace folder


def test_an_image_deleted_before_upload_fails_naming_it_and_writes_nothing(
    tiny_dir: Path, workspace: Workspace
) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    (tiny_dir / "cross" / "3.png").unlink()
    with pytest.raises(DatasetError, match=r"cross/3\.png") as caught:
        dataset.upload(workspace)
    assert caught.value.bad_files == ["cross/3.png"]
    assert _objects(workspace) == []


def test_an_image_deleted_before_reupload_keeps_the_complete_version(
    tiny_dir: Path, workspace: Workspace
) -> None:
    Dataset.from_folder(tiny_dir).upload(workspace)
    (tiny_dir / "square" / "0.png").write_bytes((tiny_dir / "cross" / "0.png").read_bytes())
    changed = Dataset.from_folder(tiny_dir)
    (tiny_dir / "circle" / "1.png").unlink()
    with pytest.raises(DatasetError, match=r"circle/1\.png"):
        changed.upload(workspace)
    assert len(_reload(workspace)) == 24  # the old manifest was kept: still complete


def _reload(workspace: Workspace) -> Dataset:
    from cloudml_edu.datasets import open_dataset

    return open_dataset(workspace.store, "student/tiny/1")


def test_an_image_changed_before_upload_is_hashed_again(
    tiny_dir: Path, workspace: Workspace, tmp_path: Path
) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    path = tiny_dir / "circle" / "2.png"
    Image.new("L", (30, 20), 200).save(path)  # new bytes, size and shape
    uploaded = dataset.upload(workspace)
    record = next(r for r in uploaded.records if r.path == "circle/2.png")
    assert record.md5 == hashlib.md5(path.read_bytes()).hexdigest()
    assert (record.width, record.height, record.bytes) == (30, 20, path.stat().st_size)
    copy = _reload(workspace).download(tmp_path / "copy", progress=False)  # verifies every MD5
    assert (tmp_path / "copy" / "circle" / "2.png").read_bytes() == path.read_bytes()
    assert len(copy) == 24


def test_an_image_broken_before_upload_is_reported(tiny_dir: Path, workspace: Workspace) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    (tiny_dir / "square" / "5.png").write_bytes(b"not a png any more")
    with pytest.raises(DatasetError, match=r"square/5.png: not an image"):
        dataset.upload(workspace)
    assert _objects(workspace) == []


def test_hidden_folders_and_files_are_skipped(tiny_dir: Path) -> None:
    checkpoints = tiny_dir / "circle" / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "0-checkpoint.png").write_bytes((tiny_dir / "circle" / "0.png").read_bytes())
    (tiny_dir / "square" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tiny_dir / ".git").mkdir()
    (tiny_dir / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    dataset = Dataset.from_folder(tiny_dir)
    assert len(dataset) == 24
    assert not any("/." in r.path or r.path.startswith(".") for r in dataset.records)


def test_the_same_image_in_two_classes_is_a_warning_naming_both(
    tiny_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tiny_dir / "square" / "copy.png").write_bytes((tiny_dir / "circle" / "4.png").read_bytes())
    (tiny_dir / "circle" / "again.png").write_bytes((tiny_dir / "circle" / "5.png").read_bytes())
    with caplog.at_level(logging.WARNING):
        dataset = Dataset.from_folder(tiny_dir)
    assert len(dataset) == 26
    assert "1 image(s) appear in more than one class" in caplog.text
    assert "circle/4.png = square/copy.png" in caplog.text
    assert "again.png" not in caplog.text  # a copy inside one class is no conflict


def _png_header(width: int, height: int) -> bytes:
    """A 1-bit PNG that claims ``width`` x ``height`` pixels in a few bytes (a "bomb")."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + (width + 7) // 8))  # one row; never decoded
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [10_000, 20_000])  # Pillow warns at 10,000; refuses at 20,000
def test_decompression_bombs_are_unusable_files_named_in_the_error(
    tiny_dir: Path, side: int, caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder
) -> None:
    (tiny_dir / "cross" / "bomb.png").write_bytes(_png_header(side, side))
    with pytest.raises(DatasetError, match=r"cross/bomb.png: .*too large") as caught:
        Dataset.from_folder(tiny_dir)
    assert caught.value.bad_files == ["cross/bomb.png"]
    with caplog.at_level(logging.WARNING):
        dataset = Dataset.from_folder(tiny_dir, skip_invalid=True)
    assert len(dataset) == 24 and "cross/bomb.png" in caplog.text
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


def _write_16bit_classes(root: Path) -> Path:
    """Two trivially separable classes of 16-bit grayscale PNGs: both above 255, so an 8-bit
    clip makes them identical white squares."""
    rng = np.random.default_rng(0)
    for label, level in (("dim", 12_000), ("bright", 50_000)):
        (root / label).mkdir(parents=True)
        for i in range(12):
            pixels = rng.normal(level, 2_000, size=(16, 16)).clip(0, 65535).astype(np.uint16)
            image = Image.fromarray(pixels)
            assert image.mode == "I;16"
            image.save(root / label / f"{i}.png")
    return root


def test_16_bit_grayscale_is_scaled_not_clipped_and_trains_well(tmp_path: Path) -> None:
    from cloudml_edu.training.features import FeatureSpec, featurize
    from cloudml_edu.training.fit import featurize_dataset, fit_model

    dataset = Dataset.from_folder(_write_16bit_classes(tmp_path / "sixteen"))
    assert {r.mode for r in dataset.records} == {"I;16"}
    spec = FeatureSpec(size=8, gradients=False)
    dim = featurize([(tmp_path / "sixteen/dim/0.png").read_bytes()], spec)
    bright = featurize([(tmp_path / "sixteen/bright/0.png").read_bytes()], spec)
    assert 0.1 < dim.mean() < 0.3 and 0.7 < bright.mean() < 0.85  # 12000/65535, 50000/65535

    train, test = dataset.split(test_size=0.25, seed=0)
    outcome = fit_model(
        featurize_dataset(train, spec), featurize_dataset(test, spec),
        spec=spec, family="logistic_regression", params={}, seed=0,
    )  # fmt: skip
    assert outcome.metrics.accuracy == 1.0
