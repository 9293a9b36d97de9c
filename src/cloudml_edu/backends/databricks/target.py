"""The ``databricks`` target: AutoML jobs, hive metastore tables and Model Serving."""

from cloudml_edu.targets import PriceBasis, Target

__all__ = ["TARGET"]

TARGET = Target(
    name="databricks",
    title="Databricks",
    section="databricks",
    extra="databricks",
    trainers={"automl": "cloudml_edu.backends.databricks.automl:DatabricksAutoML"},
    endpoint_provider="cloudml_edu.backends.databricks.endpoint:DatabricksEndpointProvider",
    cleanup="cloudml_edu.backends.databricks:cleanup",
    catalog="cloudml_edu.backends.databricks.tables:catalog_for",
    price_basis=PriceBasis(sku_setting="node_type_id", dbu_rate="DBU_jobs_premium"),
    loggers=("databricks",),
    environment="cloudml_edu.backends.databricks.environment:RUNTIME_ENVIRONMENT",
    doctor="cloudml_edu.backends.databricks.doctor:checks",
)
