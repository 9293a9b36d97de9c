"""Decoding and checking image files with Pillow, safely, and bringing any mode to 8 bits."""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["MAX_PIXELS", "ImageCheck", "check_image", "to_mode"]

MAX_PIXELS = 64_000_000
"""Images larger than this (64 megapixels) are refused as unusable, per file, before decoding:
a 48 KB PNG can claim 20000 x 20000 pixels (a "decompression bomb")."""

# warnings.catch_warnings swaps process-wide state: one header read at a time under it.
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class ImageCheck:
    """What Pillow found in one file: its size and mode, or why it is unusable."""

    width: int = 0
    height: int = 0
    mode: str = ""
    problem: str | None = None


def check_image(data: bytes) -> ImageCheck:
    """Fully decode ``data`` (not just the header) so truncated files are caught; an image of
    more than :data:`MAX_PIXELS` is a problem found from its header, never decoded."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        return ImageCheck(problem="empty file (0 bytes)")
    too_large = (
        f"too large to decode safely (limit {MAX_PIXELS // 1_000_000} megapixels); resize it"
    )
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            image = Image.open(io.BytesIO(data))
        with image:
            if image.width * image.height > MAX_PIXELS:
                return ImageCheck(problem=f"{image.width} x {image.height} pixels: {too_large}")
            image.load()
            return ImageCheck(width=image.width, height=image.height, mode=image.mode)
    except Image.DecompressionBombError as exc:
        return ImageCheck(problem=f"{exc.args[0].split(',')[0]}: {too_large}")
    except UnidentifiedImageError:
        return ImageCheck(problem="not an image Pillow can read")
    except (OSError, ValueError, SyntaxError) as exc:
        return ImageCheck(problem=f"corrupt image ({exc})")


def to_mode(image: Image, mode: str) -> Image:
    """``image`` converted to ``mode`` (``"L"`` or ``"RGB"``) without losing contrast.

    Pillow's own ``convert`` clips 16-bit grayscale (``I;16``) and 32-bit (``I``, ``F``)
    images to white; here they are scaled to 8 bits first: 16-bit by 65535 -> 255,
    ``I`` likewise when it holds values above 255, ``F`` from [0, 1] when its values
    fit there, else from [0, 255].  Palette, CMYK and alpha modes convert as Pillow does.
    """
    if not (image.mode.startswith("I;16") or image.mode in ("I", "F")):
        return image.convert(mode)
    import numpy as np
    from PIL import Image as PILImage

    values = np.asarray(image, dtype=np.float64)
    peak = float(values.max()) if values.size else 0.0
    if image.mode.startswith("I;16") or (image.mode == "I" and peak > 255):
        full_scale = 65535.0
    elif image.mode == "F" and peak <= 1.0:
        full_scale = 1.0
    else:
        full_scale = 255.0
    eight_bit = np.clip(values * (255.0 / full_scale) + 0.5, 0, 255).astype(np.uint8)
    return PILImage.fromarray(eight_bit).convert(mode)  # uint8, 2-D: mode "L"
