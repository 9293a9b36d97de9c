"""The toy endpoint provider: an MLflow model server on 127.0.0.1, recorded as target ``toy``."""

from typing import ClassVar

from cloudml_edu.backends.local.endpoint import LocalEndpointProvider


class ToyEndpointProvider(LocalEndpointProvider):
    """Serves like the local provider; its records say ``toy``."""

    target: ClassVar[str] = "toy"
