"""The ``local`` target: every backend and the endpoint server run on this machine."""

from cloudml_edu.targets import Target

__all__ = ["TARGET"]

TARGET = Target(
    name="local",
    title="this machine",
    trainers={
        "designer": "cloudml_edu.backends.local.designer:DesignerBackend",
        "sdk": "cloudml_edu.backends.local.sdk:SdkBackend",
        "automl": "cloudml_edu.backends.local.automl:AutoMLBackend",
    },
    endpoint_provider="cloudml_edu.backends.local.endpoint:LocalEndpointProvider",
    deploy_timeout=120.0,  # an MLflow model server starts in ~5 s
)
