"""Colours that colour-blind readers can tell apart (Okabe and Ito's eight), and a marker per class.

Eight colours do not cover ten digits, so a class is told apart by colour *and*
marker: class ``k`` gets colour ``k mod 8`` and marker ``k div 8``, so no two
classes share both, and a legend names every one.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MARKERS", "OKABE_ITO", "class_styles"]

#: Okabe & Ito (2008), "Color Universal Design": black first dropped (kept for text and rings).
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#999999",  # grey
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def class_styles(classes: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``{class: (colour, marker)}``, distinct for up to 64 classes, stable for sorted input."""
    n = len(OKABE_ITO)
    return {c: (OKABE_ITO[k % n], MARKERS[(k // n) % len(MARKERS)]) for k, c in enumerate(classes)}
