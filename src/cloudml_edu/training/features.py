"""Image bytes -> feature vectors: resize, colour mode, normalise, optional gradient histograms."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["FeatureSpec", "feature_columns", "featurize"]

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FeatureSpec:
    """How images become features; stored with the model so serving featurizes identically.

    ``size``: images are resized to ``size`` x ``size``; ``mode``: ``"L"`` (gray) or
    ``"RGB"``; ``gradients``: append HOG-style histograms of gradient orientation
    (``orientations`` bins per ``cell`` x ``cell`` block), which help shape recognition.
    """

    size: int = 16
    mode: Literal["L", "RGB"] = "L"
    gradients: bool = True
    cell: int = 4
    orientations: int = 8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(**data)

    @property
    def n_features(self) -> int:
        channels = 3 if self.mode == "RGB" else 1
        pixels = self.size * self.size * channels
        cells = (self.size // self.cell) ** 2
        return pixels + (cells * self.orientations if self.gradients else 0)


def feature_columns(n_features: int) -> list[str]:
    """``f0000``, ``f0001``...: the feature column names of a table of ``n_features``."""
    return [f"f{i:04d}" for i in range(n_features)]


def _pixels(data: bytes, spec: FeatureSpec) -> FloatArray:
    from PIL import Image

    from cloudml_edu._images import to_mode

    with Image.open(io.BytesIO(data)) as image:
        converted = to_mode(image, spec.mode).resize(
            (spec.size, spec.size), Image.Resampling.BILINEAR
        )
        return np.asarray(converted, dtype=np.float32) / 255.0


def _gradient_histograms(gray: FloatArray, spec: FeatureSpec) -> FloatArray:
    """Orientation histograms weighted by gradient magnitude, per cell, L2-normalised."""
    gy, gx = np.gradient(gray)
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)  # unsigned orientation in [0, pi)
    bins = np.minimum((angle / np.pi * spec.orientations).astype(np.int64), spec.orientations - 1)
    n = spec.size // spec.cell
    crop = n * spec.cell
    cell_rows = np.arange(crop) // spec.cell
    cell_index = (cell_rows[:, None] * n + cell_rows[None, :]) * spec.orientations
    flat_index = (cell_index + bins[:crop, :crop]).ravel()
    hist = np.bincount(
        flat_index, weights=magnitude[:crop, :crop].ravel(), minlength=n * n * spec.orientations
    )
    hist = hist.reshape(n * n, spec.orientations)
    norms = np.linalg.norm(hist, axis=1, keepdims=True)
    normalised: FloatArray = (hist / np.maximum(norms, 1e-6)).astype(np.float32)
    return normalised.ravel()


def featurize_one(data: bytes, spec: FeatureSpec) -> FloatArray:
    """Features of one encoded image."""
    pixels = _pixels(data, spec)
    parts = [pixels.ravel()]
    if spec.gradients:
        gray = pixels if pixels.ndim == 2 else pixels.mean(axis=2)
        parts.append(_gradient_histograms(gray, spec))
    return np.concatenate(parts).astype(np.float32)


def featurize(images: Iterable[bytes], spec: FeatureSpec) -> FloatArray:
    """A (n_images, spec.n_features) matrix of features."""
    rows = [featurize_one(data, spec) for data in images]
    if not rows:
        return np.zeros((0, spec.n_features), dtype=np.float32)
    return np.vstack(rows)
