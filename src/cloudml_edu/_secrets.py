"""Keep secrets out of logs, reprs, exception messages, plans and run records.

Every secret the library reads is registered here as it is loaded; the
:class:`RedactingFilter` (installed on the ``cloudml_edu`` logger and on the
Azure/Databricks SDK loggers) and :func:`redact` replace any registered value,
and any SAS signature, account key or password-in-URL pattern, with ``***``.

Values a user passes in options (``backend_options``: job environment variables
holding a token, a SAS URL, keys) are registered too (:func:`register_option_secrets`)
when the options are made, and :func:`redact_data` removes them from any structure
(plans, run records) by key name as well as by value.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

_lock = threading.Lock()
_known: set[str] = set()

# Query parameters and connection-string fields that carry credentials.
_PATTERNS = [
    re.compile(r"(?i)(sig=)[^&\s\"']+"),
    re.compile(r"(?i)(AccountKey=)[^;\s\"']+"),
    re.compile(r"(?i)(SharedAccessSignature=)[^;\s\"']+"),
    re.compile(r"(?i)(Authorization['\"]?\s*[:=]\s*['\"]?(?:Bearer|SharedKey)\s+)[^\s'\"]+"),
    re.compile(r"(?i)(x-ms-encryption-key['\"]?\s*[:=]\s*['\"]?)[^\s'\"]+"),
    re.compile(r"\b(dapi)[0-9a-f]{32}(-\d+)?\b"),
    re.compile(r"(://[^/\s:@'\"]+:)[^@\s/'\"]+(?=@)"),  # user:password@host in a URL
]

#: Top-level loggers whose records are redacted: ours, the HTTP and storage SDKs, MLflow;
#: a target adds its SDK's (``Target.loggers``) when it is first used.
SDK_LOGGERS: set[str] = {"cloudml_edu", "azure", "urllib3", "mlflow"}


def redact_loggers(*names: str) -> None:
    """Redact the records of the top-level loggers ``names`` too (a target's SDK)."""
    with _lock:
        SDK_LOGGERS.update(names)


def register_secret(value: str | None, *, shortest: int = 6) -> None:
    """Remember a secret value so that :func:`redact` removes it everywhere."""
    if value and len(value) >= shortest:
        with _lock:
            _known.add(value)


_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9+/=_\-.~%]{20,}$")

#: Words that mark a name (an option, an environment variable) as holding a credential.
_SECRET_WORDS = (
    "token", "secret", "password", "passwd", "pwd", "sas", "credential", "connection_string",
    "connectionstring", "apikey", "api_key", "authorization",
)  # fmt: skip
#: Names ending in "key" that are identifiers, not credentials (Databricks job fields).
_NOT_SECRET_KEYS = frozenset({"task_key", "job_cluster_key", "environment_key", "partition_key"})


def secret_name(name: str) -> bool:
    """True for a name that says its value is a credential: ``HF_TOKEN``, ``api_key``,
    ``STORAGE_SAS``, ``db_password``, ``AccountKey``, ``key`` (not ``task_key``)."""
    lowered = name.lower().replace("-", "_")
    if lowered in _NOT_SECRET_KEYS:
        return False
    return any(word in lowered for word in _SECRET_WORDS) or lowered.endswith("key")


def _secret_shape(value: str) -> bool:
    if not _SECRET_SHAPE.match(value):
        return False
    kinds = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[+/=_\-.~%]"))
    return kinds >= 3


def looks_secret(value: str) -> bool:
    """True for a value shaped like a key, token or SAS (long, no spaces, mixed characters),
    or one :func:`redact` would change: never echo it, even from the wrong field."""
    return redact(value) != value or _secret_shape(value)


#: The shortest value registered by its shape alone: API tokens and keys are 32 characters or
#: more, so names like ``cpu-cluster-Standard_DS3`` stay readable in plans.
_TOKEN_LENGTH = 32


def register_option_secrets(value: Any, key: str = "") -> None:
    """Register every credential in user options (nested dicts and lists): a value under a
    :func:`secret_name` key, or one shaped like a key or token.  Values the patterns
    already catch (``sig=``, ``AccountKey=``) are left to them, so the rest stays readable."""
    if isinstance(value, dict):
        for k, v in value.items():
            register_option_secrets(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            register_option_secrets(v, key)
    elif isinstance(value, str) and (
        secret_name(key) or (len(value) >= _TOKEN_LENGTH and _secret_shape(value))
    ):
        register_secret(value, shortest=4)


def redact_data(value: Any, key: str = "") -> Any:
    """``value`` (JSON-like data) with every credential replaced by ``***``: under a
    :func:`secret_name` key, a registered secret, or a credential pattern."""
    if isinstance(value, dict):
        return {k: redact_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, key) for v in value]
    if secret_name(key) and isinstance(value, str | bytes) and value:
        return "***"
    return redact(value) if isinstance(value, str) else value


def redact(text: str) -> str:
    """Return ``text`` with every known secret and credential pattern replaced by ``***``."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    message = record.getMessage()
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_installed = False


def install_log_filter() -> None:
    """Redact every record from the library's and the SDKs' loggers as it is created.

    Filters on a logger do not apply to its children (``azure.core.pipeline``...),
    so the redaction hooks the record factory instead, once per process.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.split(".", 1)[0] in SDK_LOGGERS:
            _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
