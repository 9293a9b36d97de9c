"""One exception tree for everything cloudml-edu raises.

Catch :class:`CloudMLError` to handle any failure of the library; catch a
subclass to act on one kind.  Every message ends with what to do next.  The
underlying SDK or HTTP error, when there is one, is chained as ``__cause__``.
"""

from __future__ import annotations

import builtins

__all__ = [
    "AuthError",
    "BackendError",
    "CloudMLError",
    "ConfigError",
    "DatasetError",
    "NotFoundError",
    "QuotaError",
    "ServiceError",
    "ThrottledError",
    "TimeoutError",
]


class CloudMLError(Exception):
    """Base class of every error raised by cloudml-edu.

    ``cli_message``, when given, is the same message with the next step worded for
    the command line (``--skip-invalid`` rather than ``skip_invalid=True``): the CLI
    shows it instead.
    """

    def __init__(self, *args: object, cli_message: str | None = None) -> None:
        super().__init__(*args)
        self.cli_message = cli_message


class ConfigError(CloudMLError):
    """A setting is missing or invalid (config file, environment, argument)."""


class AuthError(CloudMLError):
    """Credentials were rejected (HTTP 401/403) or could not be obtained."""


class DatasetError(CloudMLError):
    """The images or the dataset layout are unusable (corrupt files, empty classes...)."""

    def __init__(
        self, message: str, *, bad_files: list[str] | None = None, cli_message: str | None = None
    ) -> None:
        super().__init__(message, cli_message=cli_message)
        self.bad_files: list[str] = list(bad_files or [])


class NotFoundError(CloudMLError):
    """A named dataset, run, model or endpoint does not exist."""


class ServiceError(CloudMLError):
    """A service failed or could not be reached, after retries."""


class ThrottledError(ServiceError):
    """The service kept answering 429 / quota exceeded after retries."""


class QuotaError(ServiceError):
    """The subscription or workspace is out of quota (cores, endpoints, DBUs) for this request."""


class BackendError(CloudMLError):
    """A training backend failed: the job, a pipeline step or every AutoML trial."""


class TimeoutError(CloudMLError, builtins.TimeoutError):
    """A wait ran past its ``timeout``; the work may still be running remotely.

    Also a builtin :class:`TimeoutError`, so ``except TimeoutError`` catches it
    whichever of the two names the caller imported.
    """
