"""Keep secrets out of logs, reprs and exception messages.

Every secret the library reads is registered here as it is loaded; the
:class:`RedactingFilter` (installed on the ``cloudml_edu`` logger and on the
Azure/Databricks SDK loggers) and :func:`redact` replace any registered value,
and any SAS signature or account key pattern, with ``***``.
"""

from __future__ import annotations

import logging
import re
import threading

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
]

#: Top-level loggers whose records are redacted: ours, the HTTP and storage SDKs, MLflow;
#: a target adds its SDK's (``Target.loggers``) when it is first used.
SDK_LOGGERS: set[str] = {"cloudml_edu", "azure", "urllib3", "mlflow"}


def redact_loggers(*names: str) -> None:
    """Redact the records of the top-level loggers ``names`` too (a target's SDK)."""
    with _lock:
        SDK_LOGGERS.update(names)


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` removes it everywhere."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9+/=_\-.~%]{20,}$")


def looks_secret(value: str) -> bool:
    """True for a value shaped like a key, token or SAS (long, no spaces, mixed characters),
    or one :func:`redact` would change: never echo it, even from the wrong field."""
    if redact(value) != value:
        return True
    if not _SECRET_SHAPE.match(value):
        return False
    kinds = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[+/=_\-.~%]"))
    return kinds >= 3


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
