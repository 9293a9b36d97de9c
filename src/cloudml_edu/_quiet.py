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

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "EXPERIMENTAL_LOGGER",
    "QUIET_DEFAULTS",
    "SDK_LOGGERS",
    "quiet_sdk_chatter",
    "quiet_third_party",
    "silenced_info",
]

#: Environment variable -> level used unless the user set one.
QUIET_DEFAULTS = {"MLFLOW_LOGGING_LEVEL": "WARNING"}

#: azure-ai-ml warns "This is an experimental class" for each preview class it builds while
#: the library submits a job: nothing the user chose or can act on.
EXPERIMENTAL_LOGGER = "azure.ai.ml._utils._experimental"


def quiet_third_party() -> None:
    """Set the quiet defaults the user has not set (idempotent); hide tqdm's
    "IProgress not found" TqdmWarning, which MLflow's progress bars raise in every
    notebook kernel without ipywidgets (our own progress does without them); and
    azure-ai-ml's experimental-class warnings (see :data:`EXPERIMENTAL_LOGGER`)."""
    import warnings

    for name, level in QUIET_DEFAULTS.items():
        os.environ.setdefault(name, level)
    warnings.filterwarnings("ignore", message="IProgress not found")
    experimental = logging.getLogger(EXPERIMENTAL_LOGGER)
    if experimental.level == logging.NOTSET:  # a level the user set is kept
        experimental.setLevel(logging.ERROR)


#: Cloud SDK loggers that talk while a command works: azure-identity lists every
#: credential it tried (a dozen lines before the one-line error), azure-ai-ml says
#: "This is an experimental class" for each preview class it builds.
SDK_LOGGERS = (
    "azure.identity",
    EXPERIMENTAL_LOGGER,
    "azure.core.pipeline.policies.http_logging_policy",
    "databricks.sdk",
)


def quiet_sdk_chatter(*, debug: bool) -> None:
    """The command line's default: the SDKs' chatter off (errors kept), all of it with ``debug``."""
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.ERROR)


@contextmanager
def silenced_info(*names: str) -> Iterator[None]:
    """Loggers ``names`` at WARNING for a call the library makes on the user's behalf (an SDK's
    "Downloading ... to /tmp/..." line names a folder the user never sees); a level the user
    set on the logger is kept."""
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    for logger, level in zip(loggers, before, strict=True):
        if level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
