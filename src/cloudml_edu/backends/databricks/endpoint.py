"""The ``databricks`` endpoint provider: Model Serving of the registered image model.

A Databricks ``automl`` run registers a pyfunc model that wraps the featurizer
and AutoML's best model (see :mod:`.automl_task`), in Unity Catalog
(``catalog.schema.model``) or the legacy registry, so the endpoint takes
base64 images like every other target.  Deploying creates the serving endpoint
(scale to zero on, tagged with the owner) or, since there is no
create-or-update call, updates the config of the one that exists; the poller
ends when the endpoint is READY.  ``invoke`` POSTs ``dataframe_split`` to
``/serving-endpoints/{name}/invocations`` with the workspace's credentials.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from cloudml_edu._polling import Following, Poller
from cloudml_edu.backends.databricks.connection import (
    Timing,
    client_for,
    databricks_config,
    require_sdk,
    translate_error,
)
from cloudml_edu.errors import BackendError, ConfigError, NotFoundError
from cloudml_edu.records.endpoint import EndpointRecord, EndpointState

if TYPE_CHECKING:
    import requests

    from cloudml_edu.records.run import RunRecord
    from cloudml_edu.workspace import Workspace

__all__ = ["OWNER_TAG", "DatabricksEndpointProvider", "delete_endpoint", "endpoint_config"]

OWNER_TAG = "cloudml-owner"
_MODEL_URI = re.compile(r"^models:/([^/]+)/(\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def endpoint_config(name: str, model_uri: str, *, workload_size: str = "Small") -> dict[str, Any]:
    """The ``EndpointCoreConfigInput`` (as JSON) serving ``models:/<name>/<version>``."""
    found = _MODEL_URI.match(model_uri)
    if found is None:
        raise ConfigError(
            f"Databricks Model Serving serves models registered in the workspace "
            f"(models:/<name>/<version>), not {model_uri!r}; deploy a run trained with the "
            "automl backend on Databricks"
        )
    model, version = found.groups()
    return {
        "name": name,
        "served_entities": [
            {
                "name": re.sub(r"[^A-Za-z0-9_-]", "_", f"{model}-{version}")[-63:],
                "entity_name": model,
                "entity_version": version,
                "workload_size": workload_size,
                "scale_to_zero_enabled": True,
            }
        ],
    }


class DatabricksEndpointProvider(Following[EndpointRecord]):
    """Serves registered models on Databricks Model Serving (and follows a deploy)."""

    target: ClassVar[str] = "databricks"
    terminal = frozenset({"live", "failed", "dead"})

    def __init__(self, workspace: Workspace, *, session: requests.Session | None = None) -> None:
        self.poll_interval, self.poll_max_interval = Timing.interval, Timing.max_interval
        self.workspace = workspace
        self.settings = databricks_config(workspace)
        require_sdk()
        self._session = session

    @property
    def _where(self) -> str:
        return self.settings.host or "Databricks"

    def begin_deploy(
        self, *, name: str, model_uri: str, run: RunRecord | None, progress: bool | None
    ) -> Poller[EndpointRecord]:
        """Create the endpoint, or update its served model when it exists; poll until READY."""
        from databricks.sdk import errors
        from databricks.sdk.service.serving import (
            EndpointCoreConfigInput,
            EndpointTag,
            ServedEntityInput,
        )

        if not _NAME.match(name):
            raise ConfigError(
                f"{name!r} is not a valid serving endpoint name: use up to 63 letters, digits, "
                "'-' or '_', starting with a letter or digit"
            )
        config = endpoint_config(name, model_uri, workload_size=self.settings.serving_workload_size)
        entities = [ServedEntityInput.from_dict(e) for e in config["served_entities"]]
        client = client_for(self.workspace)
        try:
            try:
                client.serving_endpoints.get(name)
                exists = True
            except errors.NotFound:
                exists = False
            if exists:
                client.serving_endpoints.update_config(name, served_entities=entities)
            else:
                client.serving_endpoints.create(
                    name=name,
                    config=EndpointCoreConfigInput(name=name, served_entities=entities),
                    tags=[EndpointTag(key=OWNER_TAG, value=self.workspace.owner)],
                )
        except Exception as exc:
            raise translate_error(
                exc, action=f"deploy serving endpoint {name}", where=self._where
            ) from exc
        record = EndpointRecord(
            name=name,
            target="databricks",
            model_uri=model_uri,
            run_id=run.id if run is not None else None,
            url=f"{self._where}/serving-endpoints/{name}/invocations",
            owner=self.workspace.owner,
            created=datetime.now(UTC),
            details={
                "served_entity": config["served_entities"][0]["name"],
                "updated": exists,
                "state": "creating",
                "page": f"{self._where}/ml/endpoints/{name}",
            },
        )
        return Poller(record, self, progress=progress)

    def status_of(self, record: EndpointRecord, /) -> str:
        return str(record.details["state"])

    def describe(self, record: EndpointRecord, elapsed: float, /) -> str:
        return (
            f"serving endpoint {record.name}: {record.details['state']} after {elapsed:.0f} s "
            "(a first deployment takes several minutes)"
        )

    def finish(self, record: EndpointRecord, /) -> EndpointRecord:
        """The record once live; BackendError if the deployment failed, NotFoundError if gone."""
        return _finish(record)

    def refresh(self, record: EndpointRecord, /) -> EndpointRecord:
        state, message = self._state(record)
        return record.model_copy(
            update={"details": {**record.details, "state": state, "message": message}}
        )

    def _state(self, record: EndpointRecord) -> tuple[EndpointState, str]:
        from databricks.sdk import errors

        try:
            found = client_for(self.workspace).serving_endpoints.get(record.name)
        except errors.NotFound:
            return "dead", "the endpoint does not exist"
        except Exception as exc:
            raise translate_error(
                exc, action=f"read serving endpoint {record.name}", where=self._where
            ) from exc
        state = found.state
        ready = state.ready.value if state and state.ready else "NOT_READY"
        update = state.config_update.value if state and state.config_update else ""
        if update == "UPDATE_FAILED":
            return "failed", "the config update failed; see the endpoint's events and build logs"
        if ready == "READY" and update != "IN_PROGRESS":
            return "live", ""
        return "creating", update or ready

    def state(self, record: EndpointRecord) -> EndpointState:
        """``live`` when READY, ``creating`` while (re)deploying, ``failed``, or ``dead`` if gone."""
        return self._state(record)[0]

    def invoke(self, record: EndpointRecord, images: list[str], *, timeout: float) -> Any:
        """POST base64 images as ``dataframe_split``; the workspace's credentials sign the call."""
        import requests

        from cloudml_edu.scoring import envelope, post_json

        client = client_for(self.workspace)
        return post_json(
            self._session or requests.Session(),
            record.url,
            envelope([[image] for image in images], target="databricks"),
            headers=client.config.authenticate(),
            timeout=timeout,
            name=record.name,
            when_down="check [databricks] host and your network",
            when_failed=(
                f"see its logs at {record.details.get('page', self._where)}; a scaled-to-zero "
                "endpoint takes a few minutes to wake up"
            ),
        )

    def delete(self, record: EndpointRecord, *, timeout: float) -> None:
        """Delete the serving endpoint; succeeds when it is already gone."""
        delete_endpoint(self.workspace, record.name)


def delete_endpoint(ws: Workspace, name: str) -> None:
    """Delete one serving endpoint (a missing one counts as deleted)."""
    from databricks.sdk import errors

    try:
        client_for(ws).serving_endpoints.delete(name)
    except errors.NotFound:
        return
    except Exception as exc:
        raise translate_error(
            exc, action=f"delete serving endpoint {name}", where=databricks_config(ws).host or ""
        ) from exc


def _finish(record: EndpointRecord) -> EndpointRecord:
    state = record.details.get("state")
    if state == "failed":
        raise BackendError(
            f"serving endpoint {record.name} failed to deploy: {record.details.get('message')}; "
            f"see {record.details.get('page')}"
        )
    if state == "dead":
        raise NotFoundError(f"serving endpoint {record.name} disappeared while deploying")
    return record
