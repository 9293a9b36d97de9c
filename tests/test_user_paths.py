"""Every write to a path the user chose ends, on an OS error, in a typed error naming the path.

As root, ``chmod`` does not stop writes: a file where a folder is expected, and a
patched OS call raising PermissionError, stand in for read-only folders.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from cloudml_edu import ConfigError, Dataset, DatasetError


def _denied(*args: object, **kwargs: object) -> None:
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "taken"
    path.write_text("a file, not a folder")
    return path


def test_download_to_a_file_is_a_config_error_naming_it(tiny_dir: Path, a_file: Path) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    with pytest.raises(ConfigError, match=rf"download folder {a_file}.*is a file, not a folder"):
        dataset.download(a_file)
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        dataset.download(a_file / "inside")
    assert a_file.read_text() == "a file, not a folder"


def test_a_file_where_a_class_folder_goes_is_named(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "circle").write_text("in the way")
    with pytest.raises(ConfigError, match=rf"download folder {out / 'circle'}"):
        Dataset.from_folder(tiny_dir).download(out, progress=False)


def test_a_folder_where_an_image_goes_is_named(tiny_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "out" / "circle" / "0.png").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"circle/0\.png is a folder") as caught:
        Dataset.from_folder(tiny_dir).download(tmp_path / "out", progress=False)
    assert caught.value.bad_files == ["circle/0.png"]


def test_an_unwritable_download_folder_is_a_config_error(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = Dataset.from_folder(tiny_dir)
    monkeypatch.setattr(Path, "write_bytes", _denied)
    with pytest.raises(ConfigError, match=r"cannot write download target .*\.png: permission"):
        dataset.download(tmp_path / "out", progress=False)


def test_report_out_that_is_a_file_fails_before_any_work(a_file: Path) -> None:
    from cloudml_edu.report.html import write_report

    with pytest.raises(ConfigError, match=rf"report folder {a_file}.*is a file, not a folder"):
        write_report([], a_file)


def test_an_unwritable_report_folder_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu.report.html import write_report

    monkeypatch.setattr(Path, "write_text", _denied)
    with pytest.raises(ConfigError, match=rf"cannot write report folder {tmp_path / 'out'}"):
        write_report([], tmp_path / "out")


def test_sample_data_into_a_file_is_a_config_error(a_file: Path) -> None:
    from cloudml_edu.samples import write_digits

    with pytest.raises(ConfigError, match=rf"sample data folder {a_file}"):
        write_digits(a_file)
