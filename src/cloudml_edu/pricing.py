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
    "LAB_ENDPOINT_HOURS",
    "LOCAL_SKUS",
    "PRICES",
    "PRICES_RECORDED",
    "SERVING_DBU_PER_HOUR",
    "STARTUP_MINUTES",
    "CloudCompute",
    "CostEstimate",
    "Price",
    "TargetEstimate",
    "endpoint_hourly",
    "estimate_cost",
    "estimate_on",
    "estimate_run",
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

_SERVING_SOURCE = (
    "Azure Databricks pricing page, Model Serving (serverless real-time inference, premium "
    "tier, $0.07 per DBU, cloud infrastructure included); verify with the Retail Prices API: "
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
        Price("DBU_serving", 0.07, "DBU-hour", _SERVING_SOURCE),
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
    serving: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: CloudMLConfig) -> CloudCompute:
        """Each configured target's node size setting (``[azure_ml] vm_size``,
        ``[databricks] node_type_id``...) and endpoint size (``instance_type``,
        ``serving_workload_size``)."""
        skus, serving = {}, {}
        for target in all_targets().values():
            settings = target.settings(config)
            if target.price_basis is not None and settings is not None:
                skus[target.name] = str(getattr(settings, target.price_basis.sku_setting))
                size = getattr(settings, _SERVING_SETTING.get(target.name, ""), None)
                if size:
                    serving[target.name] = str(size)
        return cls(skus, serving)

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
    cost: CostEstimate | None = None


def estimate_on(
    target: Target,
    node_hours: float,
    compute: CloudCompute | None = None,
    *,
    overrides: Mapping[str, float] | None = None,
) -> TargetEstimate:
    """What a run of ``node_hours`` measured locally would cost on ``target``:
    :func:`estimate_run` (start-up + run + endpoint hours at list prices) on its compute.

    A SKU with no price (or no DBU rate) leaves ``usd`` None, the reason in ``basis``.
    """
    chosen = compute or CloudCompute()
    sku, basis = chosen.sku_for(target), target.price_basis
    dbu_rate = basis.dbu_rate if basis is not None else None
    try:
        dbu = 0.0
        if dbu_rate is not None:
            found = DBU_PER_NODE_HOUR.get(sku)
            if found is None:
                raise ConfigError(f"no recorded DBU rate for {sku}")
            dbu = found
        cost = estimate_run(
            target.name,
            node_hours,
            sku=sku,
            serving=chosen.serving.get(target.name),
            dbu_rate=dbu_rate or "DBU_jobs_premium",
            dbu_per_node_hour=dbu,
            overrides=overrides,
        )
    except ConfigError as exc:
        head = f"estimate at list prices of {PRICES_RECORDED}; {target.title}"
        return TargetEstimate(target.name, target.title, sku, None, f"{head}: {exc}")
    return TargetEstimate(
        target.name, target.title, sku, cost.total_usd, f"estimate: {cost.basis}", cost
    )


# ---- the one cost model: start-up + run + endpoint hours --------------------------------

#: Billed minutes before a job's own work starts, per target: an Azure ML cluster scaling up
#: from zero nodes and pulling the curated image; a Databricks job cluster starting,
#: AutoML's data checks and model registration.  Assumptions, stated in every estimate.
STARTUP_MINUTES: dict[str, float] = {"azureml": 6.0, "databricks": 8.0}
#: Endpoint hours one lab needs (deploy, predict, compare, delete): an endpoint bills
#: every hour it exists, so it is usually the largest part of a student's bill.
LAB_ENDPOINT_HOURS = 1.0
#: DBUs per hour of a Databricks Model Serving CPU endpoint at full concurrency, by
#: workload size (Small 4, Medium 16, Large 64 concurrent requests, 1 DBU each);
#: an idle endpoint with scale to zero costs less.
SERVING_DBU_PER_HOUR: dict[str, float] = {"Small": 4.0, "Medium": 16.0, "Large": 64.0}
#: The setting of a target's config section that sizes its endpoints.
_SERVING_SETTING = {"azureml": "instance_type", "databricks": "serving_workload_size"}
#: The course default VM size, when nothing is configured.
_DEFAULT_VM = "Standard_DS3_v2"


@dataclass(frozen=True)
class CostEstimate:
    """What one run costs on one target at list prices: start-up + run + endpoint hours.

    ``plan``, ``compare``, the report and the Power BI export all build it with
    :func:`estimate_run`, so the same run gets the same figure everywhere.
    """

    target: str
    compute_sku: str
    startup_usd: float
    run_usd: float
    endpoint_usd: float
    endpoint_hourly_usd: float
    basis: str

    @property
    def total_usd(self) -> float:
        """Start-up + run + endpoint hours, rounded to 4 decimals."""
        return round(self.startup_usd + self.run_usd + self.endpoint_usd, 4)

    @property
    def endpoint_daily_usd(self) -> float:
        """What the endpoint costs if left running for a day."""
        return round(self.endpoint_hourly_usd * 24, 2)


def endpoint_hourly(
    target: str,
    *,
    serving: str | None = None,
    overrides: Mapping[str, float] | None = None,
) -> float:
    """USD per hour of a deployed endpoint of ``target``: a Databricks Model Serving endpoint of
    workload size ``serving`` (default Small; DBUs at the serving rate), one instance of VM
    size ``serving`` elsewhere (default Standard_DS3_v2); 0 for a local one."""
    if target == "local":
        return 0.0
    if target == "databricks":
        size = serving or "Small"
        dbus = SERVING_DBU_PER_HOUR.get(size)
        if dbus is None:
            raise ConfigError(f"unknown serving workload size {size!r}; use Small, Medium or Large")
        return round(dbus * price_of("DBU_serving", overrides=overrides).usd_per_hour, 4)
    return price_of(serving or _DEFAULT_VM, overrides=overrides).usd_per_hour


def estimate_run(
    target: str,
    run_hours: float,
    *,
    sku: str = _DEFAULT_VM,
    nodes: int = 1,
    startup_minutes: float | None = None,
    endpoint_hours: float = LAB_ENDPOINT_HOURS,
    serving: str | None = None,
    dbu_rate: str = "DBU_jobs_premium",
    dbu_per_node_hour: float | None = None,
    overrides: Mapping[str, float] | None = None,
) -> CostEstimate:
    """The cost of a run of ``run_hours`` on ``nodes`` x ``sku`` of ``target``, at list prices.

    Start-up (:data:`STARTUP_MINUTES` of the target unless given) and the run are billed
    on the training compute (VM, plus ``dbu_per_node_hour`` DBUs: by default the recorded
    rate of ``sku`` on Databricks, none elsewhere); the endpoint for ``endpoint_hours`` at
    :func:`endpoint_hourly` (``serving``: its VM size or workload size).  A ``local``
    target costs nothing.  Raises :class:`ConfigError` for an unpriced SKU.
    """
    if run_hours < 0 or endpoint_hours < 0:
        raise ValueError(f"hours must be >= 0, got {run_hours} and {endpoint_hours}")
    if target == "local":
        return CostEstimate(target, "local", 0.0, 0.0, 0.0, 0.0, "local compute: no charge")
    startup = STARTUP_MINUTES.get(target, 0.0) if startup_minutes is None else startup_minutes
    dbu = dbu_per_node_hour
    if dbu is None:
        dbu = DBU_PER_NODE_HOUR.get(sku) if target == "databricks" else 0.0
    if dbu is None:
        raise ConfigError(
            f"no recorded DBU rate for {sku}; pick a node type listed in docs/prices.md"
        )

    def compute(hours: float) -> float:
        return estimate_cost(
            sku, hours * nodes, overrides=overrides, dbu_per_node_hour=dbu, dbu_rate=dbu_rate
        )

    hourly = endpoint_hourly(target, serving=serving, overrides=overrides)
    where = (
        f"{serving or 'Small'} serving endpoint"
        if target == "databricks"
        else serving or _DEFAULT_VM
    )
    dbus = f" + {dbu:g} DBU/node-h ({dbu_rate})" if dbu else ""
    basis = (
        f"{target}: {startup:g} min start-up + {run_hours * 60:.1f} min run on {nodes} x "
        f"{sku}{dbus}, + {endpoint_hours:g} endpoint h on {where} (${hourly:g}/h); "
        f"list prices of {PRICES_RECORDED}"
    )
    return CostEstimate(
        target=target,
        compute_sku=sku,
        startup_usd=compute(startup / 60),
        run_usd=compute(run_hours),
        endpoint_usd=round(hourly * endpoint_hours, 4),
        endpoint_hourly_usd=hourly,
        basis=basis,
    )
