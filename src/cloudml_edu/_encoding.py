"""Config files read as text, whatever editor saved them.

A UTF-8 byte-order mark (Notepad's "UTF-8 with BOM") is accepted; a UTF-16 file
(Notepad's "Unicode") or a byte that is not UTF-8 (a Latin-1 ``é`` in a comment)
is a :class:`ConfigError` naming the file, the encoding and where, and saying how
to save it as UTF-8, never an unexpected ``UnicodeDecodeError``.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from cloudml_edu._paths import user_paths
from cloudml_edu.errors import ConfigError

__all__ = ["read_config_text"]

_SAVE_AS = "save it as UTF-8 (in Notepad: Save As, Encoding: UTF-8; in VS Code: Save with Encoding)"


def read_config_text(path: Path, *, what: str = "config file") -> str:
    """The text of ``path``: UTF-8, with or without a BOM; anything else is a ConfigError."""
    with user_paths(path, what=what):
        data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        len(data) >= 2 and b"\x00" in data[:64] and not data.startswith(codecs.BOM_UTF8)
    ):
        raise ConfigError(f'{what} {path} is saved as UTF-16 ("Unicode"), not UTF-8; {_SAVE_AS}')
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        guess = bytes([byte]).decode("cp1252", errors="replace")
        raise ConfigError(
            f"{what} {path} is not UTF-8: byte 0x{byte:02X} on line {line}, column "
            f"{exc.start - start + 1} (a Latin-1 / Windows-1252 {guess!r}?); {_SAVE_AS}"
        ) from None
