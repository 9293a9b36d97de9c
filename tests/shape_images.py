"""Small drawn images for tests: three classes a model tells apart after a few examples."""

from __future__ import annotations

from pathlib import Path


def write_shapes(root: Path, *, per_class: int = 8) -> Path:
    """``root/<circle|square|cross>/<i>.png``: 24x24 grayscale outlines, shifted by ``i % 4``."""
    from PIL import Image, ImageDraw

    for c, label in enumerate(("circle", "square", "cross")):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = Image.new("L", (24, 24), 0)
            draw = ImageDraw.Draw(image)
            o = i % 4
            if c == 0:
                draw.ellipse((4 + o, 4, 18 + o, 18), outline=255, width=2)
            elif c == 1:
                draw.rectangle((4 + o, 4, 18 + o, 18), outline=255, width=2)
            else:
                draw.line((4 + o, 4, 18 + o, 18), fill=255, width=2)
                draw.line((18 + o, 4, 4 + o, 18), fill=255, width=2)
            image.save(folder / f"{i}.png")
    return root
