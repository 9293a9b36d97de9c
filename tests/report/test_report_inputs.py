"""What the report reads besides runs: prediction files and dataset summaries."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from cloudml_edu.errors import ConfigError, NotFoundError
from cloudml_edu.report.new_images import read_predictions
from cloudml_edu.report.summary import summarize, thumbnail


def test_reads_what_predict_json_prints(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    rows = [{"image": "a.png", "label": "cat", "score": 0.7, "scores": {"cat": 0.7, "dog": 0.3}}]
    path.write_text(json.dumps(rows))
    (item,) = read_predictions(path, endpoint="pets")
    assert (item.image, item.label, item.score, item.endpoint) == ("a.png", "cat", 0.7, "pets")
    assert item.top(1) == [("cat", 0.7)]


def test_a_missing_or_foreign_predictions_file_says_how_to_write_one(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="cloudml-edu predict"):
        read_predictions(tmp_path / "nope.json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"file": "a.png"}]))
    with pytest.raises(ConfigError, match="--json") as caught:
        read_predictions(wrong)
    assert isinstance(caught.value.__cause__, KeyError)


def _png(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_thumbnails_keep_colour_and_aspect() -> None:
    small = Image.open(io.BytesIO(thumbnail(_png((200, 100), (0, 114, 178)))))
    assert small.size == (64, 32) and small.getpixel((10, 10))[:3] == (0, 114, 178)


def test_summary_counts_classes_sizes_and_keeps_samples(tmp_path: Path) -> None:
    from cloudml_edu.datasets import Dataset

    for label, n, size in (("cat", 5, (40, 30)), ("dog", 7, (20, 20))):
        (tmp_path / label).mkdir()
        for i in range(n):
            (tmp_path / label / f"{i}.png").write_bytes(_png(size, (i * 30, 0, 0)))
    summary = summarize(Dataset.from_folder(tmp_path, progress=False), samples_per_class=3)
    assert summary.images == 12 and summary.modes == {"RGB": 12}
    cat, dog = summary.classes
    assert (cat.label, cat.images, cat.median_width, cat.median_height) == ("cat", 5, 40, 30)
    assert (dog.images, len(dog.samples)) == (7, 3)
    assert summary.smallest_class == cat
