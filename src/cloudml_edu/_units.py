"""One way to print a size in bytes, so the same dataset reads the same everywhere."""

from __future__ import annotations

__all__ = ["human_size"]


def human_size(n: int) -> str:
    """``n`` bytes as ``12 B``, ``35.7 KB``, ``2.0 MB`` or ``1.2 GB`` (units of 1024)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
