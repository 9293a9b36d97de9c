"""A folder on this machine used as an object store (the local workspace's "blob" store)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cloudml_edu._paths import resolve_under
from cloudml_edu.errors import NotFoundError
from cloudml_edu.storage.base import ObjectInfo, check_md5, file_md5

__all__ = ["LocalStore"]

_MD5_SUFFIX = ".md5"
_META_DIR = ".meta"


class LocalStore:
    """Objects are files under ``root``; their MD5s are kept in ``root/.meta``."""

    def __init__(self, root: str | os.PathLike[str], *, max_concurrency: int = 4) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._max_concurrency = max_concurrency

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    @property
    def url(self) -> str:
        return self.root.as_uri()

    @property
    def identity(self) -> tuple[str, ...]:
        return ("local", str(self.root))

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def _path(self, key: str) -> Path:
        return resolve_under(self.root, key, source=f"object key in the store {self.root}")

    def _meta(self, key: str) -> Path:
        return self.root / _META_DIR / (key + _MD5_SUFFIX)

    def info(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        if not path.is_file():
            return None
        meta = self._meta(key)
        md5 = meta.read_text().strip() if meta.is_file() else None
        return ObjectInfo(key=key, size=path.stat().st_size, md5=md5)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d != _META_DIR)
            for name in sorted(filenames):
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix) and not name.endswith(".partial"):
                    found = self.info(key)
                    if found is not None:
                        yield found

    @staticmethod
    def _temporary(path: Path) -> Path:
        """A new empty file next to ``path``, unique to this writer (``.partial``: never listed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        os.close(fd)
        return Path(tmp)

    def _commit(self, key: str, write: bytes | Path, md5: str) -> str:
        """Write to a temporary name, check the MD5 of what was written, then rename: a crash
        or a file changed since it was scanned never leaves a wrong object under ``key``."""
        path = self._path(key)
        tmp = self._temporary(path)
        try:
            if isinstance(write, Path):
                shutil.copyfile(write, tmp)
                check_md5(write, file_md5(tmp), md5)
            else:
                tmp.write_bytes(write)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        meta = self._meta(key)
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(md5)
        tmp.replace(path)
        return md5

    def put_file(self, key: str, path: Path, *, md5: str) -> str:
        return self._commit(key, Path(path), md5)

    def put_bytes(self, key: str, data: bytes) -> str:
        return self._commit(key, data, hashlib.md5(data).hexdigest())

    def put_new(self, key: str, data: bytes) -> bool:
        """Written under a unique temporary name, then hard-linked to ``key``: the link
        fails when ``key`` exists, so of two processes exactly one creates it."""
        path = self._path(key)
        tmp = self._temporary(path)
        try:
            tmp.write_bytes(data)
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            tmp.unlink()
        meta = self._meta(key)
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(hashlib.md5(data).hexdigest())
        return True

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(
                f"{key} not found in {self.root}; check the dataset name and version"
            )
        return path.read_bytes()

    def download(self, key: str, dest: Path) -> None:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(
                f"{key} not found in {self.root}; check the dataset name and version"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._meta(key).unlink(missing_ok=True)
