"""New images to predict: files and folders gathered, checked locally, answers scored.

``cloudml-edu predict NAME FOLDER/`` sends every image under ``FOLDER`` (recursively).
When ``FOLDER`` has class sub-folders (``FOLDER/cat/1.jpg``), the sub-folder is the
image's true label, so the answers give an accuracy and a confusion matrix on images
the model never saw.  Every file is decoded here first: a file that is not a usable
image is named and skipped (or, with ``strict``, refused before anything is sent),
so one bad file never fails the batch with an error about the server's byte buffers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.errors import DatasetError

if TYPE_CHECKING:
    from cloudml_edu.scoring import Prediction

__all__ = ["Answer", "Answers", "ImageFile", "Skipped", "check_files", "gather_images"]


@dataclass(frozen=True)
class ImageFile:
    """One image to send, and its true label when its folder says it (``None`` otherwise)."""

    path: Path
    label: str | None = None


@dataclass(frozen=True)
class Skipped:
    """A file not sent, and why."""

    path: str
    problem: str


def _visible(folder: Path) -> Iterable[Path]:
    """Files under ``folder``, recursively, skipping hidden files and folders."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            yield path


def gather_images(paths: Sequence[str | os.PathLike[str]]) -> list[ImageFile]:
    """The image files ``paths`` name: each file as given, each folder walked recursively.

    An image in a sub-folder of a given folder (``FOLDER/<class>/...``) is labelled
    with that sub-folder's name; files directly in it, or given one by one, are not.
    Raises :class:`DatasetError` naming paths that do not exist, or folders with no file.
    """
    found: list[ImageFile] = []
    missing: list[str] = []
    for given in map(Path, paths):
        if given.is_file():
            found.append(ImageFile(given))
        elif given.is_dir():
            inside = [
                ImageFile(path, path.relative_to(given).parts[0] if path.parent != given else None)
                for path in _visible(given)
            ]
            if not inside:
                raise DatasetError(
                    f"folder {given} holds no files; pass images or a folder of them"
                )
            found += inside
        else:
            missing.append(str(given))
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise DatasetError(
            f"{len(missing)} image file(s) not found: {shown}; check the paths",
            bad_files=missing,
        )
    return found


def check_files(
    files: Sequence[ImageFile], *, strict: bool = False
) -> tuple[list[ImageFile], list[Skipped]]:
    """``files`` split into usable images and skipped ones (each named, with the reason).

    Every file is read and decoded here.  With ``strict``, any unusable file raises
    :class:`DatasetError` naming all of them, before anything is sent.
    """
    from cloudml_edu._images import check_image

    good: list[ImageFile] = []
    skipped: list[Skipped] = []
    for item in files:
        try:
            problem = check_image(item.path.read_bytes()).problem
        except OSError as exc:
            problem = f"cannot read it ({exc.strerror})"
        if problem is None:
            good.append(item)
        else:
            skipped.append(Skipped(str(item.path), problem))
    if skipped and strict:
        listing = "\n  ".join(f"{s.path}: {s.problem}" for s in skipped)
        raise DatasetError(
            f"{len(skipped)} unusable file(s), nothing sent:\n  {listing}\n"
            "Remove or replace them, or pass strict=False to skip them.",
            bad_files=[s.path for s in skipped],
            cli_message=f"{len(skipped)} unusable file(s), nothing sent:\n  {listing}\n"
            "Remove or replace them, or leave out --strict to skip them.",
        )
    return good, skipped


@dataclass(frozen=True)
class Answer:
    """One image and the endpoint's answer (and its true label, when known)."""

    image: ImageFile
    prediction: Prediction

    @property
    def correct(self) -> bool | None:
        """Whether the answer is the true label; None without one."""
        return None if self.image.label is None else self.prediction.label == self.image.label


@dataclass
class Answers:
    """The answers of one endpoint to new images, who answered, and what was skipped."""

    endpoint: str
    target: str
    run_id: str | None
    model_uri: str
    answers: list[Answer]
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def labelled(self) -> list[Answer]:
        """The answers whose true label is known."""
        return [a for a in self.answers if a.image.label is not None]

    @property
    def accuracy(self) -> float | None:
        """Share of labelled images answered right; None when none is labelled."""
        scored = self.labelled
        return sum(bool(a.correct) for a in scored) / len(scored) if scored else None

    def confusion(self) -> tuple[list[str], list[list[int]]]:
        """Labels (true and predicted, sorted) and counts: row = true label, column = answer."""
        scored = self.labelled
        labels = sorted({str(a.image.label) for a in scored} | {a.prediction.label for a in scored})
        index = {label: i for i, label in enumerate(labels)}
        matrix = [[0] * len(labels) for _ in labels]
        for a in scored:
            matrix[index[str(a.image.label)]][index[a.prediction.label]] += 1
        return labels, matrix

    def to_json(self) -> dict[str, Any]:
        """What ``cloudml-edu predict --json`` prints and the report's new-images section reads."""
        labels, matrix = self.confusion()
        return {
            "endpoint": self.endpoint,
            "target": self.target,
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "accuracy": self.accuracy,
            "labels": labels,
            "confusion_matrix": matrix,
            "predictions": [
                {
                    "image": str(a.image.path),
                    "true_label": a.image.label,
                    **a.prediction.model_dump(),
                }
                for a in self.answers
            ],
            "skipped": [{"image": s.path, "problem": s.problem} for s in self.skipped],
        }
