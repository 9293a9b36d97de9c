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
    "ConflictError",
    "DatasetError",
    "NotFoundError",
    "QuotaError",
    "ServiceError",
    "StoreDamagedError",
    "ThrottledError",
    "TimeoutError",
    "UnsafePathError",
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


class UnsafePathError(DatasetError):
    """A path read from data (a manifest record, a shard, a catalog row, a run or endpoint
    record) would lead outside the folder it belongs to: absolute, ``..``, a NUL byte, a
    look-alike separator or a link out.  Nothing was read or written through it."""


class StoreDamagedError(CloudMLError):
    """A workspace's SQLite store (``mlflow.db``, ``catalog.db``) cannot be read: the message
    names the file and the command that rebuilds it (``cloudml-edu repair``)."""


class ConflictError(CloudMLError):
    """Another command is changing the same thing at the same moment (an upload of different
    images to the same dataset version); nothing of this call was written."""


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
