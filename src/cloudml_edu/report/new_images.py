"""Predictions on new images (not in the dataset), for the report's "new images" section.

``cloudml-edu predict NAME IMAGES... --json > new.json`` writes exactly what
:func:`read_predictions` reads; from Python, pass ``NewImage`` objects built from
``Endpoint.predict`` answers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cloudml_edu.errors import ConfigError, NotFoundError

__all__ = ["NewImage", "read_predictions"]


@dataclass(frozen=True)
class NewImage:
    """One image sent to an endpoint and the answer: its label, score and every class's score."""

    image: str
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    endpoint: str = ""

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` most likely classes, best first."""
        return sorted(self.scores.items(), key=lambda item: -item[1])[:n]


def read_predictions(path: str | os.PathLike[str], *, endpoint: str = "") -> list[NewImage]:
    """The predictions in ``path``: the JSON list that ``cloudml-edu predict ... --json`` prints."""
    source = Path(path)
    if not source.is_file():
        raise NotFoundError(
            f"no predictions file at {source}; write one with "
            "`cloudml-edu predict ENDPOINT IMAGES... --json > new.json`"
        )
    try:
        rows = json.loads(source.read_text(encoding="utf-8"))
        return [
            NewImage(
                image=str(row["image"]),
                label=str(row["label"]),
                score=float(row["score"]),
                scores={str(k): float(v) for k, v in dict(row.get("scores", {})).items()},
                endpoint=endpoint,
            )
            for row in rows
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            f"{source} is not the output of `cloudml-edu predict ... --json` ({exc}); "
            "write it again with that command"
        ) from exc
