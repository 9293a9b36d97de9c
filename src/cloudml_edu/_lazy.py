"""Import on first use: cloud SDKs, ``"module:attr"`` strings and a package's public names.

The cloud SDKs are optional (``pip install 'cloudml-edu[azure]'``,
``[databricks]``, ``[all]``); adapters import them through :func:`require`
inside functions, so ``import cloudml_edu`` stays fast and a missing SDK is a
:class:`~cloudml_edu.errors.ConfigError` with the command that fixes it.
:func:`import_string` resolves the ``"module:attr"`` strings of a
:class:`~cloudml_edu.targets.Target` the same way, and :func:`lazy_attributes`
is the module ``__getattr__`` of the packages whose public names load lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from types import ModuleType
from typing import Any

from cloudml_edu.errors import ConfigError

__all__ = ["import_string", "lazy_attributes", "require"]


def _install_hint(extra: str | None) -> str:
    if extra is None:
        return "install the package that provides it"
    return f"it comes with an optional extra: pip install 'cloudml-edu[{extra}]'"


def require(module: str, *, extra: str) -> ModuleType:
    """Import and return ``module``; ConfigError naming ``pip install 'cloudml-edu[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"{module} is not installed ({exc}); {_install_hint(extra)}") from exc


def import_string(path: str, *, extra: str | None = None, what: str = "") -> Any:
    """The object a ``"package.module:attr"`` string names, imported now.

    The attribute may be a submodule (``"package:module"``).  A module that is itself absent (not in this version, or a plug-in not
    installed) and a missing attribute are ConfigErrors saying so; a module that
    is there but cannot import a dependency names ``pip install
    'cloudml-edu[extra]'``.  ``what`` says what the string is for, in messages.
    """
    module_name, sep, attribute = path.partition(":")
    label = f"{what} ({path})" if what else path
    if not sep or not module_name or not attribute:
        raise ConfigError(f"{label} is not of the form 'package.module:attribute'; fix it")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise ConfigError(
                f"{label} is not available: no module {missing}; upgrade cloudml-edu or "
                "install the package that provides it"
            ) from exc
        raise ConfigError(f"{label} cannot be loaded ({exc}); {_install_hint(extra)}") from exc
    if hasattr(module, attribute):
        return getattr(module, attribute)
    try:  # "package:submodule" names a module with functions (a target's cleanup)
        return importlib.import_module(f"{module_name}.{attribute}")
    except ImportError as exc:
        if getattr(exc, "name", None) != f"{module_name}.{attribute}":
            raise ConfigError(f"{label} cannot be loaded ({exc}); {_install_hint(extra)}") from exc
        raise ConfigError(
            f"{label} is not available: {module_name} has no {attribute!r}; upgrade cloudml-edu "
            "or the package that provides it"
        ) from None


def lazy_attributes(
    package: str, table: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` loading ``name`` from the module ``table[name]`` on first use.

    Module names starting with ``.`` are relative to ``package``; the value is
    cached in ``namespace`` (the package's ``globals()``) so it loads once.
    """

    def load(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return load
