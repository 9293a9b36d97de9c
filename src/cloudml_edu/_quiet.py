"""Third-party INFO chatter off by default, in scripts and notebooks as in the CLI.

MLflow logs at INFO on import and on first use ("Creating initial MLflow database
tables", "Validating input example against model signature"): noise for a student.
MLflow reads its level from ``MLFLOW_LOGGING_LEVEL`` when it is first imported, so
setting a default there once, when ``cloudml_edu`` is imported (before the library
ever touches MLflow), quiets every path, including the sdk job's subprocess, which
inherits the environment.  A level the user set is kept; so is the logging of a
program that imported MLflow before ``cloudml_edu``.
"""

from __future__ import annotations

import os

__all__ = ["QUIET_DEFAULTS", "quiet_third_party"]

#: Environment variable -> level used unless the user set one.
QUIET_DEFAULTS = {"MLFLOW_LOGGING_LEVEL": "WARNING"}


def quiet_third_party() -> None:
    """Set the quiet defaults the user has not set (idempotent)."""
    for name, level in QUIET_DEFAULTS.items():
        os.environ.setdefault(name, level)
