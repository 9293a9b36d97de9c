"""Argument checks at the public boundary: a wrong type is a ConfigError naming the argument.

Without them a string where a number belongs (``split(test_size="x")``) ends as a
``TypeError`` deep inside scikit-learn; with them the caller reads which argument,
what it takes and what it got, before anything is written.
"""

from __future__ import annotations

import os
from typing import Any

from cloudml_edu.errors import ConfigError

__all__ = ["check_flag", "check_number", "check_path", "check_text"]


def _got(value: object) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown[:40]}{'...' if len(shown) > 40 else ''}"


def check_number(
    value: object,
    *,
    name: str,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    optional: bool = False,
) -> Any:
    """``value`` if it is a number (an int when ``integer``) within [``low``, ``high``]."""
    if value is None and optional:
        return None
    kinds = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "a whole number" if integer else "a number"
        raise ConfigError(f"{name}= takes {what}, got {_got(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (
            f"between {low:g} and {high:g}"
            if low is not None and high is not None
            else (f"at least {low:g}" if low is not None else f"at most {high:g}")
        )
        raise ConfigError(f"{name}= must be {bounds}, got {value!r}")
    return value


def check_text(value: object, *, name: str, optional: bool = False, example: str = "") -> Any:
    """``value`` if it is a non-empty string."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        hint = f", e.g. {example}" if example else ""
        raise ConfigError(f"{name}= takes a non-empty string{hint}, got {_got(value)}")
    return value


def check_path(value: object, *, name: str, optional: bool = False) -> Any:
    """``value`` if it is a path (a string or ``os.PathLike``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise ConfigError(f"{name}= takes a path (str or pathlib.Path), got {_got(value)}")
    return value


def check_flag(value: object, *, name: str, optional: bool = False) -> Any:
    """``value`` if it is True or False (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise ConfigError(f"{name}= takes True or False, got {_got(value)}")
    return value
