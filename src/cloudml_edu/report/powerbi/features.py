"""Per-image features for Power BI: a 2-D embedding and a few readable image statistics.

For every test image of a run, ``fact_image_feature`` holds where the model's
features put it (the first two principal components, as in the report's feature
map) and what a person can read off the photo: brightness, mean red, green and
blue, width and height.  A scatter of ``pc1`` against ``pc2`` coloured by label is
then one drag in Power BI (docs/powerbi.md).

Pixels come from the dataset version the run trained on, found in the workspace
store by owner and name and checked against the MD5s the run logged; without a
store (or when the version is gone) the image statistics stay empty.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cloudml_edu.errors import NotFoundError

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.storage.base import Store

__all__ = [
    "DatasetFinder",
    "ImageStats",
    "dataset_finder",
    "feature_rows",
    "image_ref",
    "image_stats",
]

log = logging.getLogger(__name__)

#: Finds the dataset version a run trained on (None when it cannot be found).
DatasetFinder = Callable[["TrainingRun", Mapping[str, str]], "Dataset | None"]


@dataclass(frozen=True)
class ImageStats:
    """What a person can read off one image: mean brightness and colour (0-255) and its size."""

    brightness: float
    red: float
    green: float
    blue: float
    width: int
    height: int


def image_stats(data: bytes) -> ImageStats:
    """Mean luminance (ITU-R 601, as PIL's ``L``), mean R, G, B and the size of an image."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        rgb = np.asarray(opened.convert("RGB"), dtype=np.float64)
        width, height = opened.size
    red, green, blue = (float(rgb[..., i].mean()) for i in range(3))
    return ImageStats(0.299 * red + 0.587 * green + 0.114 * blue, red, green, blue, width, height)


def image_ref(run: TrainingRun, path: str, version: str | None) -> str:
    """``owner/dataset/version/path``: which image of whose dataset, unique across a class."""
    return f"{run.owner}/{run.dataset}/{version or '?'}/{path}"


def dataset_finder(store: Store) -> DatasetFinder:
    """Finds a run's dataset in ``store``: the newest version of ``owner/name`` whose images
    have the MD5s the run logged for its test split."""
    from cloudml_edu.datasets import open_dataset, read_manifest

    def find(run: TrainingRun, md5_by_path: Mapping[str, str]) -> Dataset | None:
        prefix = f"{run.owner}/{run.dataset}/"
        versions = {info.key[len(prefix) :].split("/", 1)[0] for info in store.list(prefix)}
        manifests = [(v, read_manifest(store, prefix + v)) for v in versions]
        for version, manifest in sorted(
            ((v, m) for v, m in manifests if m is not None),
            key=lambda vm: vm[1].created,
            reverse=True,
        ):
            held = {r.path: r.md5 for r in manifest.records}
            if all(held.get(path) == md5 for path, md5 in md5_by_path.items()):
                try:
                    return open_dataset(store, prefix + version)
                except NotFoundError:
                    continue
        return None

    return find


def feature_rows(
    run: TrainingRun, features: Mapping[str, npt.NDArray[np.generic]], dataset: Dataset | None
) -> list[dict[str, object]]:
    """One row per test image: ``image``, ``image_url``, ``path``, labels, ``pc1``/``pc2`` and
    the :class:`ImageStats` fields (None without ``dataset``)."""
    from cloudml_edu.report.projection import pca_2d

    paths = [str(p) for p in features["paths"].tolist()]
    points = pca_2d(features["X"])
    stats: dict[str, ImageStats] = {}
    urls: dict[str, str] = {}
    version = dataset.manifest.version if dataset is not None else None
    if dataset is not None:
        tested = set(paths)
        wanted = [r for r in dataset.records if r.path in tested]
        for record, data in dataset.source.iter_bytes(wanted):
            stats[record.path] = image_stats(data)
        from cloudml_edu.manifest import file_key

        stored = dataset.source.stored_at()
        if stored is not None and dataset.manifest.layout == "files":  # packed: no per-image URL
            store, prefix = stored
            urls = {r.path: f"{store.url}/{file_key(prefix, r.path)}" for r in wanted}
    rows = []
    for k, path in enumerate(paths):
        found = stats.get(path)
        rows.append(
            {
                "image": image_ref(run, path, version),
                "image_url": urls.get(path, ""),
                "path": path,
                "label": str(features["y"][k]),
                "predicted": str(features["predicted"][k]),
                "pc1": float(points[k, 0]),
                "pc2": float(points[k, 1]),
                "brightness": None if found is None else found.brightness,
                "red_mean": None if found is None else found.red,
                "green_mean": None if found is None else found.green,
                "blue_mean": None if found is None else found.blue,
                "width": None if found is None else found.width,
                "height": None if found is None else found.height,
            }
        )
    return rows
