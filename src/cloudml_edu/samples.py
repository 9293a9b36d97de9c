"""Sample datasets bundled with scikit-learn, written as PNG class folders (no download)."""

from __future__ import annotations

from pathlib import Path

from cloudml_edu._paths import ensure_dir, user_paths

__all__ = ["write_digits"]


def write_digits(dest: Path, *, size: int = 32) -> Path:
    """Write scikit-learn's digits (1,797 images, 10 classes) under ``dest/<digit>/``.

    The 8x8 images (values 0-16) are scaled to 0-255 grayscale and resized to
    ``size`` pixels square, so featurization has real resizing to do.  Files are
    only rewritten when their content changed, so a second call is cheap.
    """
    import io

    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    ensure_dir(dest, what="sample data folder")
    with user_paths(dest, what="sample data folder"):
        for index, (pixels, target) in enumerate(zip(digits.images, digits.target, strict=True)):
            scaled = np.clip(pixels * (255.0 / 16.0), 0, 255).astype(np.uint8)
            image = Image.fromarray(scaled, mode="L")
            image = image.resize((size, size), Image.Resampling.BILINEAR)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=False)
            folder = dest / str(int(target))
            folder.mkdir(exist_ok=True)
            path = folder / f"{index:04d}.png"
            data = buffer.getvalue()
            if not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)
    return dest
