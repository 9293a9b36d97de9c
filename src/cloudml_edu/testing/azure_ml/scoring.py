"""``<endpoint>.<region>.inference.ml.azure.com/score``: the deployed MLflow model, really run.

Azure ML serves an MLflow model without a scoring script ("no-code"): it builds
an environment from the model's own ``requirements.txt`` and Python version and
calls the pyfunc's ``predict`` on the ``input_data`` frame.  The fake does the
same in a clean process: a twin built from the model's requirements only (no
cloudml-edu, no cloud SDK), so a model that needs anything it does not declare
fails here as it would there.  An exception in ``predict`` answers 400 with its
message, as MLflow's scoring server does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.testing._http import Reply, SentRequest, json_reply

if TYPE_CHECKING:
    from cloudml_edu.environments import EnvironmentSpec
    from cloudml_edu.testing.azure_ml import FakeAzureML

__all__ = ["ENDPOINT_KEY", "ScoringService", "model_environment"]

#: The primary key of every fake online endpoint.
ENDPOINT_KEY = "fake-primary-key"

_PREDICT = """
import json, sys
import mlflow.pyfunc, pandas as pd
body = json.load(sys.stdin)
frame = pd.DataFrame(**body["input_data"])
try:
    out = mlflow.pyfunc.load_model(sys.argv[1]).predict(frame)
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    sys.exit(0)
if isinstance(out, pd.DataFrame):
    print(out.to_json(orient="records"))
else:
    print(json.dumps(getattr(out, "tolist", lambda: out)()))
"""


def model_environment(folder: Path) -> EnvironmentSpec:
    """The environment Azure ML builds for an MLflow model: its Python and ``requirements.txt``."""
    from cloudml_edu.environments import EnvironmentSpec

    python = "3.11"
    env_file = folder / "python_env.yaml"
    if env_file.is_file():
        found = re.search(r"python:\s*['\"]?(3\.\d+)", env_file.read_text())
        python = found.group(1) if found else python
    pins = tuple(
        line.strip()
        for line in (folder / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    )
    return EnvironmentSpec(name="mlflow-model", python=python, pins=pins)


class ScoringService:
    """POST ``/score`` with the endpoint key: the model's own predictions."""

    def __init__(self, fake: FakeAzureML) -> None:
        self.fake = fake

    def claims(self, request: SentRequest) -> bool:
        return request.host.endswith(".inference.ml.azure.com")

    def answer(self, request: SentRequest) -> Reply:
        fake = self.fake
        endpoint = request.host.split(".", 1)[0]
        if f"onlineEndpoints/{endpoint}" not in fake.resources:
            return fake.error(404, "EndpointNotFound", f"no endpoint {endpoint}")
        if request.headers.get("Authorization") != f"Bearer {ENDPOINT_KEY}":
            return fake.error(401, "Unauthorized", "missing or wrong endpoint key")
        if fake.predictions is not None:
            return json_reply(200, fake.predictions(request.body))
        folder = fake.deployed_model(endpoint)
        if folder is None:
            return fake.error(424, "DeploymentNotReady", f"endpoint {endpoint} has no live model")
        answer = self._predict(folder, request.body)
        if isinstance(answer, dict) and "error" in answer:
            return json_reply(400, {"message": answer["error"]})
        return json_reply(200, answer)

    def _predict(self, folder: Path, body: Any) -> Any:
        from cloudml_edu.testing.twins import ensure_twin

        twin = ensure_twin(model_environment(folder), quiet=True)
        done = twin.run(
            ["python", "-c", _PREDICT, str(folder)],
            cwd=self.fake.scratch,
            input=json.dumps(body),
        )
        if done.returncode != 0:
            return {"error": done.stderr.strip()[-2000:]}
        return json.loads(done.stdout.strip().splitlines()[-1])
