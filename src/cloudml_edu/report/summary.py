"""What a dataset holds, for the report: classes, counts, image sizes and a few thumbnails per class."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset

__all__ = ["ClassSummary", "DatasetSummary", "summarize", "thumbnail"]

THUMBNAIL_PX = 64


def thumbnail(data: bytes, *, size: int = THUMBNAIL_PX) -> bytes:
    """A PNG of the image shrunk to fit ``size`` pixels (aspect kept, colours kept)."""
    from PIL import Image

    opened = Image.open(io.BytesIO(data))
    image = opened.convert("RGBA" if opened.mode in ("RGBA", "LA", "P") else "RGB")
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class ClassSummary:
    """One class: how many images, their median size, and sample thumbnails (PNG bytes)."""

    label: str
    images: int
    median_width: int
    median_height: int
    samples: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class DatasetSummary:
    """A dataset version at a glance."""

    name: str
    version: str
    owner: str
    images: int
    total_bytes: int
    modes: dict[str, int]
    classes: list[ClassSummary]

    @property
    def smallest_class(self) -> ClassSummary | None:
        return min(self.classes, key=lambda c: c.images, default=None)


def summarize(dataset: Dataset, *, samples_per_class: int = 4) -> DatasetSummary:
    """Counts and sizes from the manifest; the first ``samples_per_class`` images of each class
    (by path) read and shrunk to thumbnails."""
    records = sorted(dataset.records, key=lambda r: r.path)
    chosen = [
        r
        for label in dataset.classes
        for r in [x for x in records if x.label == label][:samples_per_class]
    ]
    thumbs: dict[str, list[bytes]] = {}
    for record, data in dataset.source.iter_bytes(chosen):
        thumbs.setdefault(record.label, []).append(thumbnail(data))
    classes = []
    for label, count in dataset.counts().items():
        mine = [r for r in records if r.label == label]
        classes.append(
            ClassSummary(
                label,
                count,
                int(median(r.width for r in mine)),
                int(median(r.height for r in mine)),
                thumbs.get(label, []),
            )
        )
    manifest = dataset.manifest
    return DatasetSummary(
        name=manifest.name,
        version=manifest.version,
        owner=manifest.owner,
        images=len(records),
        total_bytes=manifest.total_bytes,
        modes=dict(Counter(r.mode for r in records)),
        classes=classes,
    )
