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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cloudml_edu.errors import ConfigError

if TYPE_CHECKING:
    from cloudml_edu.config import CloudMLConfig

__all__ = [
    "DBU_PER_NODE_HOUR",
    "LAB_ENDPOINT_HOURS",
    "LOCAL_SKUS",
    "PRICES",
    "PRICES_RECORDED",
    "SERVING_DBU_PER_HOUR",
    "STARTUP_MINUTES",
    "CloudCompute",
    "CloudEstimate",
    "CostEstimate",
    "Price",
    "cloud_estimates",
    "endpoint_hourly",
    "estimate_cost",
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

_DEFAULT_VM = "Standard_DS3_v2"


@dataclass(frozen=True)
class CloudCompute:
    """The cloud compute a local run is priced on: the configured one, else the course default."""

    azure_ml: str = _DEFAULT_VM
    databricks: str = _DEFAULT_VM
    dbu_rate: str = "DBU_jobs_premium"
    instance_type: str = _DEFAULT_VM
    workload_size: str = "Small"

    @classmethod
    def from_config(cls, config: CloudMLConfig) -> CloudCompute:
        """``[azure_ml] vm_size`` / ``instance_type`` and ``[databricks] node_type_id`` /
        ``dbu_rate`` / ``serving_workload_size`` when set, else the defaults."""
        aml, dbx = config.azure_ml, config.databricks
        return cls(
            azure_ml=aml.vm_size if aml else _DEFAULT_VM,
            databricks=dbx.node_type_id if dbx else _DEFAULT_VM,
            dbu_rate=dbx.dbu_rate if dbx else "DBU_jobs_premium",
            instance_type=aml.instance_type if aml else _DEFAULT_VM,
            workload_size=dbx.serving_workload_size if dbx else "Small",
        )

    def estimate(
        self, target: str, run_hours: float, *, overrides: Mapping[str, float] | None = None
    ) -> CostEstimate:
        """:func:`estimate_run` of ``run_hours`` on this compute of ``target``."""
        return estimate_run(
            target,
            run_hours,
            sku=self.azure_ml if target == "azureml" else self.databricks,
            instance_type=self.instance_type,
            workload_size=self.workload_size,
            dbu_rate=self.dbu_rate,
            overrides=overrides,
        )


@dataclass(frozen=True)
class CloudEstimate:
    """What a run would cost on Azure ML and on Databricks: an estimate, with its basis."""

    azure_ml_usd: float | None
    databricks_usd: float | None
    basis: str


def cloud_estimates(
    node_hours: float,
    compute: CloudCompute | None = None,
    *,
    overrides: Mapping[str, float] | None = None,
) -> CloudEstimate:
    """What a run of ``node_hours`` measured locally would cost on each cloud's compute:
    :func:`estimate_run` (start-up + run + endpoint hours at list prices) per target.

    A SKU with no price (or no DBU rate) leaves that figure None, the reason in ``basis``.
    """
    chosen = compute or CloudCompute()
    totals: dict[str, float | None] = {}
    parts = []
    for target in ("azureml", "databricks"):
        try:
            found = chosen.estimate(target, node_hours, overrides=overrides)
        except ConfigError as exc:
            totals[target] = None
            parts.append(f"{target}: {exc}")
        else:
            totals[target] = found.total_usd
            parts.append(found.basis)
    return CloudEstimate(totals["azureml"], totals["databricks"], "estimate: " + "; ".join(parts))


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
    instance_type: str = _DEFAULT_VM,
    workload_size: str = "Small",
    overrides: Mapping[str, float] | None = None,
) -> float:
    """USD per hour of a deployed endpoint: one Azure ML instance of ``instance_type``, or a
    Databricks Model Serving endpoint of ``workload_size`` (DBUs at the serving rate);
    0 for a local one."""
    if target == "azureml":
        return price_of(instance_type, overrides=overrides).usd_per_hour
    if target == "databricks":
        dbus = SERVING_DBU_PER_HOUR.get(workload_size)
        if dbus is None:
            raise ConfigError(
                f"unknown serving workload size {workload_size!r}; use Small, Medium or Large"
            )
        return round(dbus * price_of("DBU_serving", overrides=overrides).usd_per_hour, 4)
    return 0.0


def estimate_run(
    target: str,
    run_hours: float,
    *,
    sku: str = _DEFAULT_VM,
    nodes: int = 1,
    startup_minutes: float | None = None,
    endpoint_hours: float = LAB_ENDPOINT_HOURS,
    instance_type: str = _DEFAULT_VM,
    workload_size: str = "Small",
    dbu_rate: str = "DBU_jobs_premium",
    dbu_per_node_hour: float | None = None,
    overrides: Mapping[str, float] | None = None,
) -> CostEstimate:
    """The cost of a run of ``run_hours`` on ``nodes`` x ``sku`` of ``target``, at list prices.

    Start-up (:data:`STARTUP_MINUTES` of the target unless given) and the run are billed
    on the training compute (VM, plus DBUs on Databricks); the endpoint for
    ``endpoint_hours`` on ``instance_type`` (Azure ML) or ``workload_size`` (Databricks).
    ``dbu_per_node_hour`` defaults to the recorded rate of ``sku`` on Databricks.
    A ``local`` target costs nothing.  Raises :class:`ConfigError` for an unpriced SKU.
    """
    if run_hours < 0 or endpoint_hours < 0:
        raise ValueError(f"hours must be >= 0, got {run_hours} and {endpoint_hours}")
    if target not in STARTUP_MINUTES:
        return CostEstimate(target, "local", 0.0, 0.0, 0.0, 0.0, "local compute: no charge")
    startup = STARTUP_MINUTES[target] if startup_minutes is None else startup_minutes
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

    hourly = endpoint_hourly(
        target, instance_type=instance_type, workload_size=workload_size, overrides=overrides
    )
    serving = instance_type if target == "azureml" else f"{workload_size} serving endpoint"
    dbus = f" + {dbu:g} DBU/node-h ({dbu_rate})" if dbu else ""
    basis = (
        f"{target}: {startup:g} min start-up + {run_hours * 60:.1f} min run on {nodes} x "
        f"{sku}{dbus}, + {endpoint_hours:g} endpoint h on {serving} (${hourly:g}/h); "
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
