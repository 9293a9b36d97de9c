"""Predictions on new images (not in the dataset), for the report's "new images" section.

``cloudml-edu predict NAME IMAGES_OR_FOLDER... --json > new.json`` writes exactly what
:func:`read_predictions` reads (the endpoint and run that answered, each image's
answer and, from class sub-folders, its true label); from Python, pass ``NewImage``
objects built from ``Endpoint.predict_files`` answers (:func:`from_answers`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu.new_images import Answers

__all__ = ["NewImage", "from_answers", "read_predictions"]


@dataclass(frozen=True)
class NewImage:
    """One image sent to an endpoint and the answer: its label, score and every class's score."""

    image: str
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    endpoint: str = ""
    run_id: str = ""
    true_label: str | None = None

    @property
    def correct(self) -> bool | None:
        """Whether the answer is the true label; None without one."""
        return None if self.true_label is None else self.label == self.true_label

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` most likely classes, best first."""
        return sorted(self.scores.items(), key=lambda item: -item[1])[:n]


def from_answers(answers: Answers) -> list[NewImage]:
    """The answers of ``Endpoint.predict_files`` as report rows."""
    return _rows(answers.to_json(), endpoint="")


def _rows(document: Any, *, endpoint: str) -> list[NewImage]:
    """Rows of ``predict --json``: an object with ``predictions`` (and who answered), or
    the plain list older versions printed."""
    rows = document["predictions"] if isinstance(document, dict) else document
    who = document if isinstance(document, dict) else {}
    return [
        NewImage(
            image=str(row["image"]),
            label=str(row["label"]),
            score=float(row["score"]),
            scores={str(k): float(v) for k, v in dict(row.get("scores", {})).items()},
            endpoint=endpoint or str(who.get("endpoint") or ""),
            run_id=str(who.get("run_id") or ""),
            true_label=None if row.get("true_label") is None else str(row["true_label"]),
        )
        for row in rows
    ]


def read_predictions(path: str | os.PathLike[str], *, endpoint: str = "") -> list[NewImage]:
    """The predictions in ``path``: the JSON that ``cloudml-edu predict ... --json`` prints."""
    source = Path(path)
    if not source.is_file():
        raise NotFoundError(
            f"no predictions file at {source}; write one with "
            "`cloudml-edu predict ENDPOINT IMAGES_OR_FOLDER... --json > new.json`"
        )
    try:
        return _rows(json.loads(source.read_text(encoding="utf-8")), endpoint=endpoint)
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            f"{source} is not the output of `cloudml-edu predict ... --json` ({exc}); "
            "write it again with that command"
        ) from exc
