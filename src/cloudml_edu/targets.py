"""Targets: where a lab trains and serves, each described once by a :class:`Target`.

A target (``local``, ``azureml``, ``databricks``, or one a separate package adds)
is declared in its own package, ``backends/<name>/target.py``, as ``TARGET =
Target(...)``: its one spelling, display title, config section, pip extra,
trainers by backend, endpoint provider, cleanup, job attacher, dataset catalog,
price basis, job environment and preflight checks.  Everything it names is a
``"module:attr"`` string, imported only when used (:meth:`Target.load`), so
reading the descriptors imports no SDK.

The built-in targets are listed once in :data:`BUILTIN`; another package adds
one through the entry-point group ``cloudml_edu.targets`` (``toy =
"my_pkg.target:TARGET"``), read lazily, once.  Which target runs a backend:
an explicit ``target=`` wins, else the one configured target that offers it,
else ``local`` (:func:`target_for_backend`).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, ValidationInfo

from cloudml_edu._lazy import import_string
from cloudml_edu._secrets import redact_loggers
from cloudml_edu.errors import ConfigError

if TYPE_CHECKING:
    from cloudml_edu.config import CloudMLConfig

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "LOCAL",
    "STORED",
    "Envelope",
    "PriceBasis",
    "Target",
    "TargetName",
    "all_targets",
    "backend_names",
    "check_target",
    "cloud_targets",
    "configured_targets",
    "get_target",
    "target_for_backend",
]

#: The target that needs no account: this machine.  The default of every rule.
LOCAL = "local"
#: The entry-point group a separate package declares its targets in.
ENTRY_POINT_GROUP = "cloudml_edu.targets"
#: The targets that ship with cloudml-edu, in display order.
BUILTIN: tuple[str, ...] = (
    "cloudml_edu.backends.local.target:TARGET",
    "cloudml_edu.backends.azureml.target:TARGET",
    "cloudml_edu.backends.databricks.target:TARGET",
)
#: How a scoring request wraps its rows: MLflow's ``dataframe_split`` (the MLflow
#: server, Databricks Model Serving) or Azure ML's ``input_data`` (split, with an index).
Envelope = Literal["dataframe_split", "input_data"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_PATH_FIELDS = (
    "config_class",
    "endpoint_provider",
    "cleanup",
    "attach",
    "catalog",
    "environment",
    "doctor",
)


@dataclass(frozen=True)
class PriceBasis:
    """What a local run's measured time is priced on for a target: one node and any DBUs.

    ``sku_setting`` is the key of the target's config section naming its node size
    (``vm_size``); ``default_sku`` prices it when the section is absent;
    ``dbu_rate`` names the price row of a per-node-hour platform charge
    (Databricks Units), priced at :data:`cloudml_edu.pricing.DBU_PER_NODE_HOUR`.
    """

    sku_setting: str
    default_sku: str = "Standard_DS3_v2"
    dbu_rate: str | None = None


@dataclass(frozen=True)
class Target:
    """One place to train and serve, and everything the library needs to know about it.

    ``name`` is its one spelling in code (``Trainer(target=...)``, run and
    endpoint records); ``title`` the name users read (``"Azure ML"``);
    ``section`` its table in ``cloudml.toml`` (None: needs no settings) and
    ``config_class`` the pydantic model of that table for a target the config
    has no field for; ``extra`` the pip extra with its SDK.  ``trainers`` maps a
    backend (``"sdk"``) to ``"module:Class"`` of a
    :class:`~cloudml_edu.backends.base.Backend`; ``endpoint_provider`` is
    ``"module:Class"`` of an :class:`~cloudml_edu.backends.base.EndpointProvider`;
    ``cleanup`` a module (``"package:module"``) or object with
    ``billable(ws)`` and ``remove(ws, item, *, timeout)``; ``attach`` a function
    ``(ws, job name) -> TrainingRun``; ``catalog`` a callable ``(ws)``
    returning the catalog that keeps registered datasets, or None when the settings
    allow none; ``environment`` an
    :class:`~cloudml_edu.environments.EnvironmentSpec` of its jobs; ``doctor`` a
    function ``(ws) -> list[Check]``.  Every path is imported only when used.
    ``envelope`` is how its endpoints take a scoring request; ``deploy_timeout`` the
    seconds ``Endpoint.deploy`` waits by default (None: an hour, for a cloud);
    ``loggers`` the top-level loggers of its SDK, redacted once it is used.
    """

    name: str
    title: str
    trainers: Mapping[str, str] = field(default_factory=dict)
    section: str | None = None
    config_class: str | None = None
    extra: str | None = None
    endpoint_provider: str | None = None
    cleanup: str | None = None
    attach: str | None = None
    catalog: str | None = None
    price_basis: PriceBasis | None = None
    envelope: Envelope = "dataframe_split"
    deploy_timeout: float | None = None
    loggers: tuple[str, ...] = ()
    environment: str | None = None
    doctor: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"target name {self.name!r} is not valid: use lower-case letters, digits and '_'"
            )
        object.__setattr__(self, "trainers", MappingProxyType(dict(self.trainers)))

    def __hash__(self) -> int:
        return hash(self.name)

    def load(self, what: str) -> Any:
        """Import what the field ``what`` names (``"endpoint_provider"``...); ConfigError if
        this target has none, or if it cannot be imported (naming the pip extra)."""
        if what not in _PATH_FIELDS:
            raise ValueError(f"{what!r} is not one of the fields {', '.join(_PATH_FIELDS)}")
        path = getattr(self, what)
        if path is None:
            raise ConfigError(f"target {self.name!r} ({self.title}) has no {what}")
        redact_loggers(*self.loggers)
        return import_string(path, extra=self.extra, what=f"the {what} of target {self.name!r}")

    def trainer(self, backend: str) -> Any:
        """Import the class that trains ``backend`` runs here; ConfigError if there is none."""
        path = self.trainers.get(backend)
        if path is None:
            raise ConfigError(
                f"target {self.name!r} ({self.title}) does not train {backend!r} runs; it "
                f"trains: {', '.join(self.trainers) or 'nothing'}"
            )
        redact_loggers(*self.loggers)
        return import_string(path, extra=self.extra, what=f"the {backend} trainer of {self.name!r}")

    def settings(self, config: CloudMLConfig) -> Any:
        """This target's section of ``config``, or None when the config has none."""
        return None if self.section is None else config.section(self.section)

    def configured(self, config: CloudMLConfig) -> bool:
        """True when ``config`` has this target's section (always, for a target without one)."""
        return self.section is None or self.settings(config) is not None

    def offers(self, backend: str) -> bool:
        """True when this target trains ``backend`` runs."""
        return backend in self.trainers


def _entry_point_targets() -> list[Target]:
    found = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = entry.load()
        except Exception as exc:  # a broken plug-in must not break the built-in targets
            warnings.warn(
                f"target {entry.name!r} ({entry.value}) of the {ENTRY_POINT_GROUP} entry points "
                f"cannot be loaded and is ignored: {exc}",
                stacklevel=3,
            )
            continue
        if not isinstance(target, Target) or target.name != entry.name:
            warnings.warn(
                f"entry point {entry.name!r} ({entry.value}) of {ENTRY_POINT_GROUP} is not a "
                f"Target named {entry.name!r} and is ignored",
                stacklevel=3,
            )
            continue
        found.append(target)
    return found


def all_targets() -> Mapping[str, Target]:
    """Every known target by name: the built-in ones, then those of installed packages."""
    return MappingProxyType(_known())


@functools.cache
def _known() -> dict[str, Target]:
    """The targets, found once per process (tests swap one with ``monkeypatch.setitem``)."""
    known: dict[str, Target] = {}
    builtin = [import_string(path, what="a built-in target") for path in BUILTIN]
    for target in [*builtin, *_entry_point_targets()]:
        if target.name in known:
            if known[target.name] != target:
                warnings.warn(
                    f"two targets are named {target.name!r}; the first one found is used",
                    stacklevel=2,
                )
            continue
        known[target.name] = target
    return known


def get_target(name: str) -> Target:
    """The target called ``name``; ConfigError listing the known ones."""
    found = all_targets().get(name) if isinstance(name, str) else None
    if found is None:
        raise ConfigError(
            f"unknown target {name!r}; choose one of: {', '.join(all_targets())}",
            cli_message=f"unknown --target {name!r}; choose one of: {', '.join(all_targets())}",
        )
    return found


def check_target(name: str) -> str:
    """``name`` when it names a known target (validation for ``str`` fields); else ConfigError."""
    return get_target(name).name


#: Validation context of records read back from a store: their target may belong to a
#: package not installed in this process, which only matters once the run is refreshed.
STORED = {"stored": True}


def _validated(name: str, info: ValidationInfo) -> str:
    if isinstance(info.context, dict) and info.context.get("stored"):
        return name
    try:
        return check_target(name)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


#: A target's name in a record: ``str``, validated against the known targets when the
#: record is made (not when it is read back with ``context=STORED``).
TargetName = Annotated[str, AfterValidator(_validated)]


def backend_names() -> tuple[str, ...]:
    """Every backend some target trains, in the order the targets list them."""
    return tuple(dict.fromkeys(b for t in all_targets().values() for b in t.trainers))


def cloud_targets(config: CloudMLConfig) -> list[Target]:
    """The targets with a section that ``config`` configures, in display order."""
    return [t for t in configured_targets(config) if t.section is not None]


def configured_targets(config: CloudMLConfig) -> list[Target]:
    """The targets ``config`` can use (``local`` always), in display order."""
    return [t for t in all_targets().values() if t.configured(config)]


def target_for_backend(backend: str, config: CloudMLConfig, target: str | None = None) -> Target:
    """Which target trains ``backend``: ``target`` when given, else the one configured
    target that offers it, else ``local``.

    ConfigError for an unknown backend or target, for a ``target`` that does not
    offer ``backend`` or is not configured, and when two configured targets offer
    it (pass ``target=``, ``--target``).
    """
    backends = backend_names()
    if backend not in backends:
        raise ConfigError(f"unknown backend {backend!r}; choose one of: {', '.join(backends)}")
    if target is not None:
        chosen = get_target(target)
        if not chosen.offers(backend):
            able = [t.name for t in all_targets().values() if t.offers(backend)]
            raise ConfigError(
                f"target {chosen.name!r} ({chosen.title}) does not train {backend!r} runs; "
                f"targets that do: {', '.join(able)}"
            )
        if not chosen.configured(config):
            raise ConfigError(
                f"training on {chosen.title} needs the [{chosen.section}] section in cloudml.toml "
                "(see docs/configuration.md); or train locally with target='local' (--target local)"
            )
        return chosen
    offering = [t for t in cloud_targets(config) if t.offers(backend)]
    if len(offering) > 1:
        names = ", ".join(f"{t.name!r} ({t.title})" for t in offering)
        raise ConfigError(
            f"backend {backend!r} is offered by several configured targets: {names}; "
            "choose one with target=... (--target on the command line)"
        )
    return offering[0] if offering else get_target(LOCAL)
