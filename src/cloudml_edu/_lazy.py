"""Import a cloud SDK on first use, or say which extra installs it.

The cloud SDKs are optional (``pip install 'cloudml-edu[azure]'``,
``[databricks]``, ``[all]``); adapters import them through :func:`require`
inside functions, so ``import cloudml_edu`` stays fast and a missing SDK is a
:class:`~cloudml_edu.errors.ConfigError` with the command that fixes it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from cloudml_edu.errors import ConfigError

__all__ = ["require"]


def require(module: str, *, extra: str) -> ModuleType:
    """Import and return ``module``; ConfigError naming ``pip install 'cloudml-edu[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{module} is not installed ({exc}); it comes with an optional extra: "
            f"pip install 'cloudml-edu[{extra}]'"
        ) from exc
