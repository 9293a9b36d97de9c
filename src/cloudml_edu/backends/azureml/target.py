"""The ``azureml`` target: designer pipelines and sdk command jobs, managed online endpoints."""

from cloudml_edu.targets import PriceBasis, Target

__all__ = ["TARGET"]

TARGET = Target(
    name="azureml",
    title="Azure ML",
    section="azure_ml",
    extra="azure",
    trainers={
        "designer": "cloudml_edu.backends.azureml.designer:AzureDesignerBackend",
        "sdk": "cloudml_edu.backends.azureml.sdk:AzureSdkBackend",
    },
    endpoint_provider="cloudml_edu.backends.azureml.endpoints:AzureMLEndpointProvider",
    cleanup="cloudml_edu.backends.azureml:cleanup",
    attach="cloudml_edu.backends.azureml.attach:attach_job",
    price_basis=PriceBasis(sku_setting="vm_size"),
    envelope="input_data",
    environment="cloudml_edu.backends.azureml.environment:JOB_ENVIRONMENT",
    doctor="cloudml_edu.backends.azureml.doctor:checks",
)
