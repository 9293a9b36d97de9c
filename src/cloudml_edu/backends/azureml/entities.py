"""The azure-ai-ml objects that serve a model: the MLflow model, the endpoint, its deployment.

Built in one place so ``Plan.write`` (YAML for the Azure ML CLI) and the
``azureml`` endpoint provider (which creates them) cannot drift apart.  An
MLflow model needs no scoring script or environment ("no-code deployment").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudml_edu.backends.azureml.connection import owned_name, owner_tags, scope_of, settings
from cloudml_edu.errors import ConfigError

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = [
    "DEPLOYMENT",
    "deployment_entity",
    "endpoint_entity",
    "endpoint_name",
    "model_entity",
]

#: The one deployment of every endpoint, taking 100% of the traffic.
DEPLOYMENT = "blue"


def endpoint_name(ws: Workspace, name: str) -> str:
    """``<owner>-<name>-<hash>`` as Azure ML accepts it: 3-32 letters, digits, hyphens, a letter
    first.  Online endpoint names are unique per Azure region, so a class of students who all
    deploy "digits" would collide; the 6-character hash of owner, subscription and workspace
    keeps each student's name their own, and stable across runs."""
    import hashlib

    if not name.strip():
        raise ConfigError("an endpoint needs a name; pass name='digits' (letters and digits)")
    scope = scope_of(ws)
    salt = f"{ws.owner}\0{scope.subscription_id}\0{scope.workspace_name}".lower()
    suffix = hashlib.sha256(salt.encode()).hexdigest()[:6]
    found = f"{owned_name(ws, name, limit=25)}-{suffix}"
    if not found[:1].isalpha():
        found = ("ep-" + found)[:32].rstrip("-")
    if len(found) < 3:
        raise ConfigError(
            f"endpoint name {found!r} (owner + {name!r}) is shorter than 3 characters; pass a "
            "longer name"
        )
    return found


def model_entity(ws: Workspace, *, name: str, model_uri: str, run_id: str | None) -> Any:
    """The MLflow model to register from ``model_uri`` (a job's model folder)."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Model

    extra = {"cloudml.run": run_id} if run_id else {}
    return Model(
        name=name,
        path=model_uri,
        type=AssetTypes.MLFLOW_MODEL,
        description="cloudml-edu image classifier",
        tags=owner_tags(ws, **extra),
    )


def endpoint_entity(ws: Workspace, name: str) -> Any:
    """A managed online endpoint with key auth, tagged with the owner."""
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    return ManagedOnlineEndpoint(
        name=name,
        auth_mode="key",
        description=f"cloudml-edu endpoint of {ws.owner}",
        tags=owner_tags(ws),
    )


def deployment_entity(ws: Workspace, *, endpoint: str, model: str, **options: Any) -> Any:
    """The ``blue`` deployment of ``model`` (an ``azureml:`` id) on ``instance_type`` from config."""
    from azure.ai.ml.entities import ManagedOnlineDeployment

    return ManagedOnlineDeployment(
        name=DEPLOYMENT,
        endpoint_name=endpoint,
        model=model,
        instance_type=settings(ws).instance_type,
        instance_count=1,
        tags=owner_tags(ws),
        **options,
    )
