"""Model Serving of the fake: endpoints that serve the registered model, loaded for real.

Creating an endpoint needs the served model version to exist in the fake's
registries.  When the endpoint turns READY the fake "builds the container": a
twin from the model's own ``requirements.txt`` and ``python_env.yaml`` (its
Python, only those packages; ``cloudml_edu`` is not importable there), in which
the model must load, else the update fails as Databricks reports a failed build.
Invocations run the model's ``predict`` in that twin on the request's
``dataframe_split`` and answer ``{"predictions": [...]}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import yaml

from cloudml_edu.environments import EnvironmentSpec
from cloudml_edu.errors import CloudMLError
from cloudml_edu.testing._http import Reply, SentRequest, json_reply
from cloudml_edu.testing.databricks._mlflow import model_version
from cloudml_edu.testing.databricks._routes import Routes, error

if TYPE_CHECKING:
    from cloudml_edu.testing.databricks import FakeDatabricks
    from cloudml_edu.testing.twins import Twin

__all__ = ["ServingService", "served_environment"]

_PREDICT = """
import json, sys
import pandas as pd
import mlflow.pyfunc
request = json.load(sys.stdin)
model = mlflow.pyfunc.load_model(sys.argv[1])
if request is None:
    print(json.dumps({"loaded": True}))
else:
    frame = pd.DataFrame(**request)
    answer = model.predict(frame)
    print(json.dumps({"predictions": json.loads(answer.to_json(orient="records"))}))
"""


def served_environment(model_dir: Path) -> EnvironmentSpec:
    """What a serving container of the model would have: its Python and its requirements."""
    python = yaml.safe_load((model_dir / "python_env.yaml").read_text())["python"]
    lines = (model_dir / "requirements.txt").read_text().splitlines()
    pins = tuple(x.strip() for x in lines if x.strip() and not x.startswith("#"))
    return EnvironmentSpec(
        name="served-model",
        python=".".join(str(python).split(".")[:2]),
        pins=pins,
        source=f"{model_dir}/requirements.txt",
    )


class ServingService(Routes):
    """``/api/2.0/serving-endpoints`` and ``/serving-endpoints/{name}/invocations``."""

    def __init__(self, fake: FakeDatabricks) -> None:
        super().__init__(fake)
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.gets: dict[str, int] = {}
        self.twins: dict[str, tuple[Twin, Path]] = {}
        self.not_ready = 1
        self.failure: str | None = None
        self.route("POST", r"/api/2\.0/serving-endpoints", self._create)
        self.route("GET", r"/api/2\.0/serving-endpoints", self._list)
        self.route("GET", r"/api/2\.0/serving-endpoints/[^/]+", self._get)
        self.route("PUT", r"/api/2\.0/serving-endpoints/[^/]+/config", self._update)
        self.route("DELETE", r"/api/2\.0/serving-endpoints/[^/]+", self._delete)
        self.route("POST", r"/serving-endpoints/[^/]+/invocations", self._invoke)

    # ---- the served model ------------------------------------------------------------
    def _entity(self, config: dict[str, Any]) -> tuple[str, str]:
        entity = (config.get("served_entities") or [{}])[0]
        return str(entity.get("entity_name", "")), str(entity.get("entity_version", ""))

    def _model_dir(self, name: str, version: str) -> Path | None:
        found = model_version(self.fake, name, version)
        if found is None:
            return None
        return Path(unquote(urlsplit(str(found["source"])).path))

    def _run(self, name: str, request: Any) -> dict[str, Any]:
        twin, model_dir = self.twins[name]
        done = twin.run(
            ["python", "-I", "-c", _PREDICT, str(model_dir)],
            cwd=self.fake.root,
            env={"MLFLOW_DISABLE_TELEMETRY": "true"},
            input=json.dumps(request),
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer

    def _build(self, name: str) -> str | None:
        """Build the endpoint's container (its twin) and load the model; the failure, or None."""
        from cloudml_edu.testing.twins import ensure_twin

        model_dir = self._model_dir(*self._entity(self.endpoints[name]["config"]))
        if model_dir is None:
            return "the served model version no longer exists"
        try:
            self.twins[name] = (ensure_twin(served_environment(model_dir), quiet=True), model_dir)
            self._run(name, None)
        except (CloudMLError, RuntimeError, OSError, ValueError) as exc:
            self.twins.pop(name, None)
            return f"Container build or model load failed: {exc}"
        return None

    # ---- endpoints ------------------------------------------------------------------
    def _state(self, name: str) -> dict[str, str]:
        polls = self.gets.get(name, 0)
        found = self.endpoints[name]
        if self.failure is not None and polls >= 1:
            found["failure"] = self.failure
        elif polls > self.not_ready and name not in self.twins and "failure" not in found:
            failure = self._build(name)
            if failure is not None:
                found["failure"] = failure
        if "failure" in found:
            return {"ready": "NOT_READY", "config_update": "UPDATE_FAILED"}
        if name in self.twins:
            return {"ready": "READY", "config_update": "NOT_UPDATING"}
        return {"ready": "NOT_READY", "config_update": "IN_PROGRESS"}

    def _view(self, name: str) -> dict[str, Any]:
        found = self.endpoints[name]
        return {
            "id": f"ep-{name}",
            "name": name,
            "state": self._state(name),
            "config": found["config"],
            "tags": found["tags"],
        }

    def _create(self, request: SentRequest) -> Reply:
        body: dict[str, Any] = request.body or {}
        name = str(body.get("name", ""))
        if name in self.endpoints:
            return error(
                400, "RESOURCE_ALREADY_EXISTS", f"Endpoint with name '{name}' already exists."
            )
        config = body.get("config", {})
        entity, version = self._entity(config)
        if self._model_dir(entity, version) is None:
            return error(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                f"Model version {entity}/{version} does not exist or you lack EXECUTE on it.",
            )
        self.endpoints[name] = {"config": config, "tags": body.get("tags", [])}
        self.gets[name] = 0
        return json_reply(200, self._view(name))

    def _update(self, request: SentRequest) -> Reply:
        name = request.path.split("/")[-2]
        if name not in self.endpoints:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Endpoint '{name}' does not exist.")
        self.endpoints[name] = {"config": request.body or {}, "tags": self.endpoints[name]["tags"]}
        self.gets[name] = 0
        self.twins.pop(name, None)
        return json_reply(200, self._view(name))

    def _get(self, request: SentRequest) -> Reply:
        name = request.path.rsplit("/", 1)[1]
        if name not in self.endpoints:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Endpoint '{name}' does not exist.")
        self.gets[name] = self.gets.get(name, 0) + 1
        return json_reply(200, self._view(name))

    def _list(self, request: SentRequest) -> Reply:
        if not self.fake.serving_enabled:
            return error(
                403,
                "FEATURE_DISABLED",
                "Model Serving is not enabled for this workspace (it needs the Premium tier).",
            )
        return json_reply(200, {"endpoints": [self._view(name) for name in self.endpoints]})

    def _delete(self, request: SentRequest) -> Reply:
        name = request.path.rsplit("/", 1)[1]
        if self.endpoints.pop(name, None) is None:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Endpoint '{name}' does not exist.")
        self.twins.pop(name, None)
        return json_reply(200, {})

    def _invoke(self, request: SentRequest) -> Reply:
        name = request.path.split("/")[2]
        if name not in self.endpoints:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Endpoint '{name}' does not exist.")
        if name not in self.twins:
            return error(503, "TEMPORARILY_UNAVAILABLE", f"Endpoint '{name}' is not ready.")
        split = (request.body or {}).get("dataframe_split")
        if not isinstance(split, dict):
            return error(400, "BAD_REQUEST", "Expected 'dataframe_split' in the request body.")
        try:
            return json_reply(200, self._run(name, split))
        except RuntimeError as exc:
            return error(
                400,
                "BAD_REQUEST",
                f"Encountered an unexpected error while evaluating the model: {exc}",
            )
