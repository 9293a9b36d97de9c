"""Decoding and checking image files with Pillow."""

from __future__ import annotations

import io
from dataclasses import dataclass

__all__ = ["ImageCheck", "check_image"]


@dataclass(frozen=True)
class ImageCheck:
    """What Pillow found in one file: its size and mode, or why it is unusable."""

    width: int = 0
    height: int = 0
    mode: str = ""
    problem: str | None = None


def check_image(data: bytes) -> ImageCheck:
    """Fully decode ``data`` (not just the header) so truncated files are caught."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        return ImageCheck(problem="empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return ImageCheck(width=image.width, height=image.height, mode=image.mode)
    except UnidentifiedImageError:
        return ImageCheck(problem="not an image Pillow can read")
    except (OSError, ValueError, SyntaxError) as exc:
        return ImageCheck(problem=f"corrupt image ({exc})")
