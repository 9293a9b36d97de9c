"""One dated table of list prices, to estimate what a training run costs.

Figures are US dollars per hour, pay-as-you-go, Linux, region East US, as
published by Microsoft (the Azure Retail Prices API,
``https://prices.azure.com/api/retail/prices``, is the source to check; it is
not called at run time).  They were recorded on :data:`PRICES_RECORDED` and
prices change: override any of them in the ``[prices]`` section of
``cloudml.toml`` (``Standard_DS3_v2 = 0.3``) or with ``overrides=``.  See
docs/prices.md.

Databricks bills twice for a job cluster: the VMs (the SKU rows below) and
Databricks Units (DBUs) per node-hour; :func:`estimate_cost` adds the DBU rate
when ``dbu_per_node_hour`` is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cloudml_edu.errors import ConfigError
from cloudml_edu.targets import all_targets

if TYPE_CHECKING:
    from cloudml_edu.config import CloudMLConfig
    from cloudml_edu.targets import Target

__all__ = [
    "DBU_PER_NODE_HOUR",
    "LOCAL_SKUS",
    "PRICES",
    "PRICES_RECORDED",
    "CloudCompute",
    "Price",
    "TargetEstimate",
    "estimate_cost",
    "estimate_on",
    "price_of",
]

#: When the table below was recorded.
PRICES_RECORDED = "2026-11-27"

RETAIL_API = "https://prices.azure.com/api/retail/prices"
_VM_QUERY = (
    RETAIL_API + "?$filter=serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' "
    "and armSkuName eq '{sku}' and priceType eq 'Consumption'"
)
_VERIFY = (
    "published list price as recorded, not re-checked against the API (unreachable from the "
    "build machine); verify: "
)


@dataclass(frozen=True)
class Price:
    """One hourly rate and where it comes from."""

    name: str
    usd_per_hour: float
    unit: str
    source: str
    recorded: str = PRICES_RECORDED

    def describe(self) -> str:
        """``$0.293/hour (Standard_DS3_v2, ...source...)`` for plans and reports."""
        return f"${self.usd_per_hour:g}/{self.unit} ({self.name}: {self.source}, {self.recorded})"


def _vm(sku: str, usd: float) -> Price:
    return Price(sku, usd, "node-hour", _VERIFY + _VM_QUERY.format(sku=sku))


_DBU_SOURCE = (
    "Azure Databricks pricing page, Jobs Compute (figures quoted in 'Modern Data "
    "Warehouses in Azure', table 5.1); verify with the Retail Prices API: "
    + RETAIL_API
    + "?$filter=serviceName eq 'Azure Databricks'"
)

#: The price table: Azure VM SKUs (per node-hour) and Databricks DBU rates (per DBU-hour).
PRICES: dict[str, Price] = {
    p.name: p
    for p in (
        _vm("Standard_DS3_v2", 0.293),
        _vm("Standard_DS4_v2", 0.585),
        _vm("Standard_DS12_v2", 0.371),
        _vm("Standard_D4s_v3", 0.192),
        _vm("Standard_D4ds_v5", 0.226),
        _vm("Standard_E4ds_v4", 0.288),
        _vm("Standard_F4s_v2", 0.169),
        _vm("Standard_NC4as_T4_v3", 0.526),
        _vm("Standard_NC6s_v3", 3.06),
        Price("DBU_jobs_standard", 0.15, "DBU-hour", _DBU_SOURCE),
        Price("DBU_jobs_premium", 0.30, "DBU-hour", _DBU_SOURCE),
    )
}

_BY_NAME = {name.lower(): price for name, price in PRICES.items()}

#: Compute names that cost nothing: this machine.
LOCAL_SKUS = frozenset({"local", ""})


def price_of(sku: str, *, overrides: Mapping[str, float] | None = None) -> Price:
    """The hourly price of ``sku``: an override if given, else the recorded table.

    Names match case-insensitively (``CLOUDML_PRICES__STANDARD_DS3_V2`` works).

    Raises :class:`ConfigError` for a SKU the table does not know, naming the fix.
    """
    if sku in LOCAL_SKUS:
        return Price(sku or "local", 0.0, "node-hour", "local compute: no charge")
    found = _BY_NAME.get(sku.lower())
    override = {k.lower(): v for k, v in (overrides or {}).items()}.get(sku.lower())
    if override is not None:
        value = float(override)
        if value < 0:
            raise ConfigError(f"price override for {sku} is negative ({value}); fix [prices]")
        unit = found.unit if found else "node-hour"
        return Price(sku, value, unit, "override from [prices] in the config", "")
    if found is None:
        known = ", ".join(sorted(PRICES))
        raise ConfigError(
            f"no recorded price for {sku!r} (known: {known}); add it to the [prices] section of "
            f"cloudml.toml, e.g. {sku} = 0.5 (USD per node-hour)"
        )
    return found


def estimate_cost(
    sku: str,
    node_hours: float,
    *,
    overrides: Mapping[str, float] | None = None,
    dbu_per_node_hour: float = 0.0,
    dbu_rate: str = "DBU_jobs_premium",
) -> float:
    """Estimated USD for ``node_hours`` of ``sku`` (plus DBUs for Databricks clusters).

    ``dbu_per_node_hour`` is how many DBUs one node of this SKU consumes per hour
    (Databricks publishes it per instance type); ``dbu_rate`` names the DBU price row.
    """
    if node_hours < 0:
        raise ValueError(f"node_hours must be >= 0, got {node_hours}")
    cost = price_of(sku, overrides=overrides).usd_per_hour * node_hours
    if dbu_per_node_hour and sku not in LOCAL_SKUS:
        rate = price_of(dbu_rate, overrides=overrides).usd_per_hour
        cost += rate * dbu_per_node_hour * node_hours
    return round(cost, 4)


#: DBUs one Databricks node of each VM size consumes per hour (jobs compute), as the
#: Azure Databricks pricing page lists them on :data:`PRICES_RECORDED`; verify there.
DBU_PER_NODE_HOUR: dict[str, float] = {
    "Standard_DS3_v2": 0.75,
    "Standard_DS4_v2": 1.5,
    "Standard_DS12_v2": 1.0,
    "Standard_D4s_v3": 0.75,
    "Standard_D4ds_v5": 1.0,
    "Standard_E4ds_v4": 1.0,
    "Standard_F4s_v2": 0.5,
}


@dataclass(frozen=True)
class CloudCompute:
    """The node size a local run is priced on, by target: the configured one, else the
    target's default (its :class:`~cloudml_edu.targets.PriceBasis`)."""

    skus: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: CloudMLConfig) -> CloudCompute:
        """Each configured target's node size setting (``[azure_ml] vm_size``,
        ``[databricks] node_type_id``...)."""
        skus = {}
        for target in all_targets().values():
            settings = target.settings(config)
            if target.price_basis is not None and settings is not None:
                skus[target.name] = str(getattr(settings, target.price_basis.sku_setting))
        return cls(skus)

    def sku_for(self, target: Target) -> str:
        """The node size ``target`` is priced on."""
        basis = target.price_basis
        return self.skus.get(target.name) or (basis.default_sku if basis else "local")


@dataclass(frozen=True)
class TargetEstimate:
    """What some node-hours would cost on one target: an estimate, with its basis."""

    target: str
    title: str
    sku: str
    usd: float | None
    basis: str


def estimate_on(
    target: Target,
    node_hours: float,
    compute: CloudCompute | None = None,
    *,
    overrides: Mapping[str, float] | None = None,
) -> TargetEstimate:
    """What ``node_hours`` measured locally would cost on one node of ``target``'s compute.

    List price times time, nothing more: no cluster start-up, storage or egress.  A
    SKU with no price (or no DBU rate) leaves ``usd`` None, the reason in ``basis``.
    """
    chosen = compute or CloudCompute()
    sku, basis = chosen.sku_for(target), target.price_basis
    head = f"estimate: {node_hours:.4f} node-h at list prices of {PRICES_RECORDED}; {target.title}"
    try:
        if basis is None or basis.dbu_rate is None:
            usd = estimate_cost(sku, node_hours, overrides=overrides)
            return TargetEstimate(target.name, target.title, sku, usd, f"{head} {sku}")
        dbu = DBU_PER_NODE_HOUR.get(sku)
        if dbu is None:
            raise ConfigError(f"no recorded DBU rate for {sku}")
        usd = estimate_cost(
            sku, node_hours, overrides=overrides, dbu_per_node_hour=dbu, dbu_rate=basis.dbu_rate
        )
        detail = f"{sku} + {dbu:g} DBU/node-h ({basis.dbu_rate})"
        return TargetEstimate(target.name, target.title, sku, usd, f"{head} {detail}")
    except ConfigError as exc:
        return TargetEstimate(target.name, target.title, sku, None, f"{head}: {exc}")
