"""Job environments: the Python version and exact pins a cloud target runs job code on.

Each cloud target declares one :class:`EnvironmentSpec` in its own package.  The
same spec is what the plan shows, what the cloud builds (or what a curated image
already is), and what the offline twin (:mod:`cloudml_edu.testing.twins`) builds
as a virtual environment, so code that runs in the fake runs on the service.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from cloudml_edu.errors import ConfigError

__all__ = ["EnvironmentSpec"]

_PYTHON = re.compile(r"3\.\d{1,2}")
_PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+")


@dataclass(frozen=True)
class EnvironmentSpec:
    """Where job code runs: ``python`` (``"3.10"``) and ``pins`` (``"numpy==1.26.4"``, exact).

    ``twin_only`` are pins the offline twin adds to stand in for what the service
    provides outside pip (local-mode ``pyspark`` for a Databricks cluster, say);
    ``source`` says where the pins come from (a release note, an asset spec), so
    a reader can check them.  ``image`` is the container image the cloud builds on.
    """

    name: str
    python: str
    pins: tuple[str, ...]
    source: str = ""
    image: str | None = None
    twin_only: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _PYTHON.fullmatch(self.python):
            raise ConfigError(
                f"environment {self.name!r}: python must look like '3.11', got {self.python!r}"
            )
        for pin in (*self.pins, *self.twin_only):
            if not _PIN.fullmatch(pin):
                raise ConfigError(
                    f"environment {self.name!r}: {pin!r} is not an exact pin; write it as 'name==version'"
                )

    @property
    def digest(self) -> str:
        """A short content hash: the same spec gives the same digest on every machine."""
        body = json.dumps([self.name, self.python, sorted(self.pins), self.image], sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    @property
    def version(self) -> str:
        """The version an environment asset is registered under: its content digest."""
        return self.digest

    def requirements(self) -> str:
        """The pins as a ``requirements.txt`` body."""
        return "".join(f"{pin}\n" for pin in self.pins)

    def pinned(self, package: str) -> str | None:
        """The pinned version of ``package`` (case and ``-``/``_`` folded), or None."""
        wanted = _normal(package)
        for pin in self.pins:
            name, version = pin.split("==", 1)
            if _normal(name.split("[", 1)[0]) == wanted:
                return version
        return None


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
