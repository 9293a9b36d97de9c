"""The toy target's descriptor, named by the ``cloudml_edu.targets`` entry point ``toy``."""

from cloudml_edu.targets import PriceBasis, Target

TARGET = Target(
    name="toy",
    title="Toy cloud",
    section="toy",
    config_class="toy_cloud.config:ToyConfig",
    trainers={"sdk": "toy_cloud.trainer:ToySdkBackend"},
    endpoint_provider="toy_cloud.endpoint:ToyEndpointProvider",
    cleanup="toy_cloud:cleanup",
    price_basis=PriceBasis(sku_setting="node_size", default_sku="Standard_F4s_v2"),
    deploy_timeout=120.0,
)
