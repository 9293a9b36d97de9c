"""Property: ``Dataset.from_folder`` on any class-folder tree returns a dataset whose manifest
matches the files, or raises DatasetError; never any other exception.

Hypothesis builds the trees: class names with unicode and spaces, images in every mode
Pillow writes (1, L, P, RGB, RGBA, CMYK, I;16) and sizes, corrupt and empty files,
symlinks (to images, and dangling), hidden folders with images in them.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from cloudml_edu import Dataset, DatasetError

MODES = ("1", "L", "P", "RGB", "RGBA", "CMYK", "I;16")


@dataclass(frozen=True)
class Entry:
    """One file of a class folder: ``kind`` is image, corrupt, empty, link or dangling."""

    kind: str
    mode: str = "L"
    width: int = 1
    height: int = 1
    seed: int = 0


def _image_bytes(entry: Entry) -> bytes:
    image = Image.new(entry.mode, (entry.width, entry.height))
    if entry.mode != "1":
        image.putpixel((0, 0), entry.seed % 2 if entry.mode == "P" else entry.seed)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if entry.mode == "CMYK" else "PNG")
    return buffer.getvalue()


names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="/\\."
    ),
    min_size=1,
    max_size=12,
).filter(lambda n: n.strip() == n and len(n.encode()) < 100)
images = st.builds(
    Entry,
    kind=st.just("image"),
    mode=st.sampled_from(MODES),
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    seed=st.integers(0, 255),
)
entries = st.one_of(
    images,
    images,
    images,
    images,
    st.builds(Entry, kind=st.sampled_from(["corrupt", "empty", "link", "dangling"])),
)
# two or more classes with files (sometimes an empty one too): both outcomes are exercised
trees = st.dictionaries(
    names,
    st.lists(entries, min_size=1, max_size=4),
    min_size=2,
    max_size=4,
)


def _write(
    root: Path, tree: dict[str, list[Entry]], hidden: bool, empty_class: bool
) -> dict[str, bytes]:
    """Write ``tree`` under ``root``; returns the visible usable images: path -> content."""
    usable: dict[str, bytes] = {}
    if empty_class:
        (root / "empty class").mkdir()
    target = root.parent / "outside.png"
    target.write_bytes(_image_bytes(Entry("image", "RGB", 3, 3, 7)))
    for label, files in tree.items():
        folder = root / label
        folder.mkdir(parents=True)
        for index, entry in enumerate(files):
            path = folder / f"f {index}.png"
            key = f"{label}/{path.name}"
            if entry.kind == "image":
                usable[key] = _image_bytes(entry)
                path.write_bytes(usable[key])
            elif entry.kind == "corrupt":
                path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(entry.seed % 50 + 5)))
            elif entry.kind == "empty":
                path.write_bytes(b"")
            elif entry.kind == "link":
                path.symlink_to(target)
                usable[key] = target.read_bytes()
            else:
                path.symlink_to(root / "nowhere.png")  # dangling: not a file, never listed
        if hidden:
            (folder / ".ipynb_checkpoints").mkdir()
            (folder / ".ipynb_checkpoints" / "x.png").write_bytes(_image_bytes(Entry("image")))
    if hidden:
        (root / ".trash" / "junk").mkdir(parents=True)
        (root / ".trash" / "junk" / "x.png").write_bytes(_image_bytes(Entry("image")))
    return usable


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    tree=trees,
    hidden=st.booleans(),
    skip_invalid=st.booleans(),
    empty_class=st.sampled_from([False, False, False, True]),
)
def test_from_folder_matches_the_files_or_raises_dataset_error(
    tree: dict[str, list[Entry]], hidden: bool, skip_invalid: bool, empty_class: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        root.mkdir()
        usable = _write(root, tree, hidden, empty_class)
        try:
            dataset = Dataset.from_folder(root, skip_invalid=skip_invalid, progress=False)
        except DatasetError:
            event("DatasetError")
            return
        event("a dataset")
        records = {r.path: r for r in dataset.records}
        assert set(records) == set(usable)  # hidden, corrupt, empty, dangling: all left out
        for path, record in records.items():
            data = usable[path]
            assert record.label == path.split("/", 1)[0] in tree
            assert (record.bytes, record.md5) == (len(data), hashlib.md5(data).hexdigest())
            assert (root / path).read_bytes() == data
        assert set(dataset.classes) == {r.label for r in dataset.records}
        assert len(dataset.classes) >= 2 and not empty_class
        bad = [e for files in tree.values() for e in files if e.kind in ("corrupt", "empty")]
        assert skip_invalid or not bad  # without skip_invalid, any unusable file raises
