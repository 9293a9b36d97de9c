"""What ``cloudml-edu cleanup`` finds and removes in Azure ML: the owner's endpoints and idle clusters.

Found by the ``cloudml.owner`` tag every resource the library creates carries.
A cluster is removed only when no node is running (a job on it would fail);
it is also forgotten in ``known.json`` so the next ``fit`` creates it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudml_edu.backends.azureml import known
from cloudml_edu.backends.azureml.connection import OWNER_TAG, client_for, translate
from cloudml_edu.backends.azureml.endpoints import delete_endpoint, finish
from cloudml_edu.backends.base import Billable

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["billable", "remove"]


def billable(ws: Workspace) -> list[Billable]:
    """The owner's online endpoints and idle clusters in the workspace's Azure ML workspace."""
    client = client_for(ws)
    found: list[Billable] = []
    try:
        endpoints = [e for e in client.online_endpoints.list() if _owned(ws, e)]
        for endpoint in endpoints:
            deployments = list(client.online_deployments.list(endpoint_name=endpoint.name))
            found.append(
                Billable(
                    target="azureml",
                    kind="endpoint",
                    name=str(endpoint.name),
                    hourly_usd=sum(_hourly(ws, d) for d in deployments),
                    detail=", ".join(
                        f"{d.name}: {d.instance_count} x {d.instance_type}" for d in deployments
                    )
                    or "no deployment",
                )
            )
        clusters = [c for c in client.compute.list() if c.type == "amlcompute" and _owned(ws, c)]
        for cluster in clusters:
            if list(client.compute.list_nodes(cluster.name)):
                continue  # busy: a job runs on it
            found.append(
                Billable(
                    target="azureml",
                    kind="cluster",
                    name=str(cluster.name),
                    detail=f"idle, 0 nodes of {cluster.size} (billed only while nodes run)",
                )
            )
    except Exception as exc:
        raise translate(exc, action="list the owner's endpoints and clusters", ws=ws) from exc
    return found


def remove(ws: Workspace, item: Billable, *, timeout: float) -> None:
    """Delete ``item`` (an endpoint with its deployments, or a cluster); fine when gone."""
    from azure.core.exceptions import ResourceNotFoundError

    if item.kind == "endpoint":
        delete_endpoint(ws, item.name, timeout=timeout)
        return
    try:
        finish(client_for(ws).compute.begin_delete(item.name), timeout=timeout)
    except ResourceNotFoundError:
        pass
    except Exception as exc:
        raise translate(exc, action=f"delete cluster {item.name}", ws=ws) from exc
    known.forget(ws, "compute", item.name)


def _owned(ws: Workspace, resource: Any) -> bool:
    return (getattr(resource, "tags", None) or {}).get(OWNER_TAG) == ws.owner


def _hourly(ws: Workspace, deployment: Any) -> float:
    from cloudml_edu.errors import ConfigError
    from cloudml_edu.pricing import price_of

    try:
        price = price_of(str(deployment.instance_type), overrides=ws.config.prices)
    except ConfigError:
        return 0.0  # a size the table does not know: listed, priced as unknown
    return price.usd_per_hour * int(deployment.instance_count or 1)
