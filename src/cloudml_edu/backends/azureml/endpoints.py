"""The ``azureml`` endpoint provider: a managed online endpoint serving the run's MLflow model.

``begin_deploy`` registers the model, asks for the endpoint (key auth, owner
tag) and returns a poller that walks it through its stages, one request per
look: the endpoint provisions, then the ``blue`` deployment (MLflow no-code,
``instance_type`` from ``[azure_ml]``), then traffic goes 100% to it.  This
takes minutes; the poller's line shows the stage and elapsed time.  A failure
raises, and :class:`cloudml_edu.Endpoint` calls :meth:`delete`, which removes
the endpoint with its deployment.  The key is fetched when a request is sent
and kept only in memory, never in the record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cloudml_edu._paths import check_links_inside
from cloudml_edu._polling import Following, Poller
from cloudml_edu.backends.azureml import entities
from cloudml_edu.backends.azureml.connection import client_for, settings, translate
from cloudml_edu.errors import CloudMLError, ServiceError, TimeoutError
from cloudml_edu.records.endpoint import EndpointRecord, EndpointState
from cloudml_edu.scoring import envelope, post_json

if TYPE_CHECKING:
    import requests

    from cloudml_edu.records.run import RunRecord
    from cloudml_edu.workspace import Workspace

__all__ = ["POLL_INTERVAL", "AzureMLEndpointProvider", "delete_endpoint", "finish"]

#: Provisioning takes minutes: look after 5 s, then back off to one request every 20 s.
POLL_INTERVAL, POLL_MAX_INTERVAL = 5.0, 20.0
_STAGES = {
    "endpoint": "provisioning the endpoint",
    "deployment": "provisioning deployment blue (the longest part: image pull, model load)",
    "traffic": "sending 100% of the traffic to blue",
    "live": "live",
}
_FAILED = ("Failed", "Canceled")


class AzureMLEndpointProvider(Following[EndpointRecord]):
    """Managed online endpoints of the workspace's ``[azure_ml]`` (and how a deploy is followed)."""

    target: ClassVar[str] = "azureml"
    terminal: tuple[str, ...] = ("live",)
    poll_interval: float = POLL_INTERVAL
    poll_max_interval: float = POLL_MAX_INTERVAL

    def __init__(self, workspace: Workspace, *, session: requests.Session | None = None) -> None:
        self.workspace = workspace
        self._session = session
        self._keys: dict[str, str] = {}  # endpoint -> key, in memory only

    # ---- deploy -------------------------------------------------------------------------
    def begin_deploy(
        self, *, name: str, model_uri: str, run: RunRecord | None, progress: bool | None
    ) -> Poller[EndpointRecord]:
        """Register the model and ask for the endpoint; the poller ends when it is live."""
        from cloudml_edu.pricing import endpoint_hourly

        ws, cfg = self.workspace, settings(self.workspace)
        if ":/" not in model_uri and Path(model_uri).is_dir():  # azure-ai-ml uploads it whole
            check_links_inside(model_uri, source=f"model folder {model_uri}")
        azure_name = entities.endpoint_name(ws, name)
        hourly = endpoint_hourly("azureml", serving=cfg.instance_type, overrides=ws.config.prices)
        client = client_for(ws)
        model = entities.model_entity(
            ws, name=azure_name, model_uri=model_uri, run_id=run.id if run else None
        )
        try:
            registered = client.models.create_or_update(model)
        except Exception as exc:
            raise translate(exc, action=f"register model {azure_name}", ws=ws) from exc
        record = EndpointRecord(
            name=name,
            target="azureml",
            model_uri=model_uri,
            run_id=run.id if run is not None else None,
            url="",
            owner=ws.owner,
            created=datetime.now(UTC),
            hourly_usd=hourly,
            details={
                "endpoint": azure_name,
                "deployment": entities.DEPLOYMENT,
                "model": f"azureml:{registered.name}:{registered.version}",
                "instance_type": cfg.instance_type,
                "stage": "endpoint",
            },
        )
        try:
            client.online_endpoints.begin_create_or_update(entities.endpoint_entity(ws, azure_name))
        except Exception as exc:
            error = translate(exc, action=f"create endpoint {azure_name}", ws=ws)
            self._remove_after(record, error)
        return Poller(record, self, progress=progress)

    def status_of(self, record: EndpointRecord, /) -> str:
        return str(record.details["stage"])

    def describe(self, record: EndpointRecord, elapsed: float, /) -> str:
        stage = _STAGES[str(record.details["stage"])]
        return f"Azure ML endpoint {record.details['endpoint']}: {stage}, {elapsed:.0f} s"

    def refresh(self, record: EndpointRecord, /) -> EndpointRecord:
        """One look at the current stage; start the next one when it has succeeded."""
        ws, client = self.workspace, client_for(self.workspace)
        details = dict(record.details)
        azure_name, stage = str(details["endpoint"]), str(details["stage"])
        try:
            if stage == "endpoint":
                state = _state_of(client.online_endpoints.get(azure_name))
                self._check(state, f"endpoint {azure_name}", record)
                if state == "Succeeded":
                    deployment = entities.deployment_entity(
                        ws, endpoint=azure_name, model=str(details["model"])
                    )
                    client.online_deployments.begin_create_or_update(deployment)
                    details["stage"] = "deployment"
            elif stage == "deployment":
                found = client.online_deployments.get(entities.DEPLOYMENT, azure_name)
                state = _state_of(found)
                self._check(state, f"deployment {entities.DEPLOYMENT} of {azure_name}", record)
                if state == "Succeeded":
                    endpoint = client.online_endpoints.get(azure_name)
                    endpoint.traffic = {entities.DEPLOYMENT: 100}
                    client.online_endpoints.begin_create_or_update(endpoint)
                    details["stage"] = "traffic"
            elif stage == "traffic":
                endpoint = client.online_endpoints.get(azure_name)
                state = _state_of(endpoint)
                self._check(state, f"traffic update of {azure_name}", record)
                if (
                    state == "Succeeded"
                    and (endpoint.traffic or {}).get(entities.DEPLOYMENT) == 100
                ):
                    details["stage"] = "live"
                    return record.model_copy(
                        update={"details": details, "url": str(endpoint.scoring_uri)}
                    )
        except CloudMLError:
            raise
        except Exception as exc:
            raise translate(exc, action=f"deploy endpoint {azure_name}", ws=ws) from exc
        return record.model_copy(update={"details": details})

    def _check(self, state: str, what: str, record: EndpointRecord) -> None:
        if state in _FAILED:
            logs = ""
            if record.details.get("stage") == "deployment":
                logs = self._deployment_logs(str(record.details["endpoint"]))
            raise ServiceError(
                f"{what} {state}{logs}; it is deleted now. Check instance_type in [azure_ml] "
                "(quota: `cloudml-edu cleanup` frees endpoints) and that the run logged an "
                "MLflow model, then deploy again"
            )

    def _deployment_logs(self, azure_name: str) -> str:
        """The last lines of the deployment's container log, or '' when they cannot be read."""
        try:
            text = client_for(self.workspace).online_deployments.get_logs(
                entities.DEPLOYMENT, azure_name, lines=20
            )
        except Exception:
            return ""
        return f"; last lines of its log:\n{text}" if text else ""

    def _remove_after(self, record: EndpointRecord, error: CloudMLError) -> None:
        """Delete what was created and raise ``error`` (saying how to clean up if that failed)."""
        try:
            self.delete(record, timeout=120.0)
        except CloudMLError as cleanup:
            raise type(error)(
                f"{error}. Removing endpoint {record.details['endpoint']} failed too "
                f"({cleanup}); run `cloudml-edu cleanup` to remove it"
            ) from error
        raise error

    # ---- use ------------------------------------------------------------------------------
    def state(self, record: EndpointRecord) -> EndpointState:
        """``live`` when the endpoint and its deployment are up, ``dead`` when gone."""
        from azure.core.exceptions import ResourceNotFoundError

        client, azure_name = client_for(self.workspace), str(record.details["endpoint"])
        try:
            endpoint = client.online_endpoints.get(azure_name)
            deployment = client.online_deployments.get(entities.DEPLOYMENT, azure_name)
        except ResourceNotFoundError:
            return "dead"
        except Exception as exc:
            raise translate(exc, action=f"read endpoint {azure_name}", ws=self.workspace) from exc
        states = {_state_of(endpoint), _state_of(deployment)}
        if states & set(_FAILED):
            return "failed"
        if states == {"Succeeded"} and (endpoint.traffic or {}).get(entities.DEPLOYMENT):
            return "live"
        return "creating"

    def invoke(self, record: EndpointRecord, images: list[str], *, timeout: float) -> Any:
        """POST ``input_data`` (split orientation) to the scoring URI with the endpoint's key."""
        azure_name = str(record.details["endpoint"])
        return post_json(
            self._http(),
            record.url,
            envelope([[image] for image in images], target="azureml"),
            headers={
                "Authorization": f"Bearer {self._key(azure_name)}",
                "azureml-model-deployment": entities.DEPLOYMENT,
            },
            timeout=timeout,
            name=record.name,
            when_down=(
                f"the Azure ML endpoint {azure_name} is gone or not ready; check "
                f"`cloudml-edu endpoint list`, or deploy again with --replace"
            ),
            when_failed=(
                f"the deployment's log has the details: `az ml online-deployment get-logs "
                f"--name {entities.DEPLOYMENT} --endpoint-name {azure_name}`"
            ),
        )

    def _key(self, azure_name: str) -> str:
        if azure_name not in self._keys:
            try:
                keys = client_for(self.workspace).online_endpoints.get_keys(azure_name)
            except Exception as exc:
                raise translate(
                    exc, action=f"read the key of endpoint {azure_name}", ws=self.workspace
                ) from exc
            self._keys[azure_name] = str(keys.primary_key)
        return self._keys[azure_name]

    def delete(self, record: EndpointRecord, *, timeout: float) -> None:
        """Delete the endpoint with its deployment (``begin_delete``); fine when already gone.

        The registered model stays (it costs nothing; ``az ml model archive`` hides it).
        """
        delete_endpoint(self.workspace, str(record.details["endpoint"]), timeout=timeout)
        self._keys.pop(str(record.details["endpoint"]), None)

    def _http(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session


def delete_endpoint(ws: Workspace, azure_name: str, *, timeout: float) -> None:
    """Delete Azure ML endpoint ``azure_name`` and wait at most ``timeout`` s; fine when gone."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        finish(client_for(ws).online_endpoints.begin_delete(name=azure_name), timeout=timeout)
    except ResourceNotFoundError:
        return
    except Exception as exc:
        raise translate(exc, action=f"delete endpoint {azure_name}", ws=ws) from exc


def finish(operation: Any, *, timeout: float) -> Any:
    """Wait at most ``timeout`` s for an azure-core ``LROPoller``; its result, or TimeoutError.

    (``LROPoller.result(timeout)`` returns silently when time runs out.)
    """
    operation.wait(timeout)
    if not operation.done():
        raise TimeoutError(
            f"Azure ML was still working after {timeout:g} s; the operation goes on in Azure: "
            "check later with `cloudml-edu cleanup --dry-run`"
        )
    return operation.result()


def _state_of(resource: Any) -> str:
    state = getattr(resource, "provisioning_state", None)
    return str(getattr(state, "value", state) or "Creating")


if TYPE_CHECKING:  # mypy checks that the class keeps to the protocol
    from cloudml_edu.backends.base import EndpointProvider

    _conforms: type[EndpointProvider] = AzureMLEndpointProvider
