"""OS errors on a user's paths become typed errors naming the path."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from cloudml_edu import ConfigError, NotFoundError, Workspace
from cloudml_edu._paths import ensure_dir, path_error, user_paths


def test_a_workspace_root_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "ws"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=rf"workspace folder {blocker}.*is a file, not a folder"):
        Workspace.local(blocker)
    with pytest.raises(ConfigError, match="is a file"):
        Workspace.local(blocker / "inside")


def test_ensure_dir_creates_and_returns_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert ensure_dir(target, what="report folder") == target and target.is_dir()


@pytest.mark.parametrize(
    ("error", "kind", "fragment"),
    [
        (PermissionError(errno.EACCES, "denied"), ConfigError, "permission denied"),
        (OSError(errno.EROFS, "read-only"), ConfigError, "read-only"),
        (OSError(errno.ENOSPC, "full"), ConfigError, "no space left"),
        (FileNotFoundError(errno.ENOENT, "gone"), NotFoundError, "does not exist"),
        (IsADirectoryError(errno.EISDIR, "dir"), ConfigError, "is a folder, not a file"),
    ],
)
def test_each_os_error_maps_to_a_typed_error(
    error: OSError, kind: type[Exception], fragment: str
) -> None:
    mapped = path_error(error, "/data/out.csv", what="export file")
    assert type(mapped) is kind
    assert "export file /data/out.csv" in str(mapped) and fragment in str(mapped)


def test_user_paths_names_the_file_the_os_named(tmp_path: Path) -> None:
    with (
        pytest.raises(NotFoundError, match=r"missing\.png") as caught,
        user_paths(tmp_path, what="image"),
    ):
        (tmp_path / "missing.png").read_bytes()
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_check_links_inside_refuses_only_a_link_out(tmp_path: Path) -> None:
    from cloudml_edu._paths import check_links_inside
    from cloudml_edu.errors import UnsafePathError

    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "weights.bin").write_bytes(b"w")
    (folder / "copy.bin").symlink_to(folder / "sub" / "weights.bin")
    (folder / "again").symlink_to(folder / "sub", target_is_directory=True)
    check_links_inside(folder, source="model folder m")  # links that stay inside are fine

    (tmp_path / "outside").mkdir()
    (folder / "sub" / "key").symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafePathError, match=r"model folder m: path 'sub/key' leads outside"):
        check_links_inside(folder, source="model folder m")
