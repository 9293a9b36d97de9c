"""A fake Databricks workspace at the HTTP boundary: the real ``databricks-sdk`` runs against it,
and what Databricks would run, it runs.

Every request to :data:`FAKE_HOST` is recorded and answered by one small
service per API (see the modules of this package): workspace files, jobs (a
submitted task runs for real in a twin of the cluster's runtime, see
:mod:`._cluster`), SQL warehouses and statements over a hive metastore, Unity
Catalog (grants, schemas, volumes and their files), MLflow (what the task
logged) and Model Serving (the registered model, loaded in a twin of its own
requirements).  Requests to 127.0.0.1 pass through.  The ``mock_databricks``
pytest fixture yields one; a test reads what was sent and scripts outcomes::

    def test_failed_run(mock_databricks):
        mock_databricks.script_run(result="FAILED", error="the cluster was lost")
        ...

One API with the other fakes: :attr:`requests`, :meth:`sent`, :meth:`fail`
(with Databricks' error codes).  Conveniences: :attr:`runs` (submit bodies),
:attr:`statements` (SQL texts), :attr:`uploads` (workspace files).  Refusals to
script: :attr:`legacy_registry`, :attr:`hive_metastore`, :attr:`any_file`,
:attr:`serving_enabled`, :meth:`script_warehouse`, ``unity.privileges`` and
``unity.enabled``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import SecretStr

from cloudml_edu.backends.databricks.environment import RUNTIMES, Runtime
from cloudml_edu.config import StorageConfig
from cloudml_edu.testing._http import HttpFake, Reply, SentRequest, json_reply
from cloudml_edu.testing.databricks._files import WorkspaceFilesService
from cloudml_edu.testing.databricks._jobs import JobsService
from cloudml_edu.testing.databricks._mlflow import MlflowService
from cloudml_edu.testing.databricks._routes import ERROR_CODES, Routes, error
from cloudml_edu.testing.databricks._serving import ServingService
from cloudml_edu.testing.databricks._sql import SqlService
from cloudml_edu.testing.databricks._unity import UnityCatalogService

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = [
    "FAKE_HOST",
    "FAKE_TOKEN",
    "FakeClock",
    "FakeDatabricks",
    "SentRequest",
    "fake_databricks",
]

FAKE_HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
#: A syntactically real personal access token, so the redaction patterns are exercised too.
FAKE_TOKEN = "dapi" + "0123456789abcdef" * 2
FAKE_WAREHOUSE = "0123456789abcdef"


class FakeClock:
    """A clock for the SDK's retries: ``sleep`` advances time instantly and is counted."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class _Identity(Routes):
    """The token check (before any other service), ``.well-known`` and ``scim/v2/Me``."""

    def __init__(self, fake: FakeDatabricks) -> None:
        super().__init__(fake)
        self.route("GET", r"/\.well-known/databricks-config", self._well_known)
        self.route("GET", r"/api/2\.0/preview/scim/v2/Me", self._me)

    def claims(self, request: SentRequest) -> bool:
        return request.url.startswith(self.fake.host) and (
            super().claims(request) or not self._signed(request)
        )

    def _signed(self, request: SentRequest) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.fake.token}"

    def answer(self, request: SentRequest) -> Reply:
        if request.path != "/.well-known/databricks-config" and not self._signed(request):
            return error(401, "UNAUTHENTICATED", "Invalid access token.")
        return super().answer(request)

    def _well_known(self, request: SentRequest) -> Reply:
        return error(404, "NOT_FOUND", "no")

    def _me(self, request: SentRequest) -> Reply:
        return json_reply(200, {"userName": self.fake.user})


class FakeDatabricks(HttpFake):
    """The fake workspace: its services, its state and the scripts of its outcomes."""

    error_codes: ClassVar[dict[int, str]] = ERROR_CODES
    fallback_error_code: ClassVar[str] = "INTERNAL_ERROR"

    host = FAKE_HOST
    token = FAKE_TOKEN
    warehouse_id = FAKE_WAREHOUSE
    user = "tester@example.edu"

    workspace: Workspace
    clock: FakeClock

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.files_root = root / "dbx" / "workspace-files"
        self.volumes_root = root / "dbx" / "volumes"
        self.mlflow_root = root / "dbx" / "mlflow"
        self.registry_root = self.mlflow_root / "registry"
        for folder in (self.files_root, self.volumes_root, self.registry_root):
            folder.mkdir(parents=True, exist_ok=True)
        self.runs: list[dict[str, Any]] = []
        self.statements: list[str] = []
        self.uploads: dict[str, bytes] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        self.canceled: list[int] = []
        self.legacy_registry = True
        self.hive_metastore = True
        self.any_file = True
        self.serving_enabled = True
        self.offered_runtimes: list[Runtime] = list(RUNTIMES.values())
        self.jobs = JobsService(self)
        self.sql = SqlService(self)
        self.unity = UnityCatalogService(self)
        self.serving = ServingService(self)
        self.services = [
            _Identity(self),
            WorkspaceFilesService(self),
            self.jobs,
            self.sql,
            self.unity,
            MlflowService(self),
            self.serving,
        ]
        self.script_run()

    # ---- scripting -----------------------------------------------------------
    def script_run(
        self,
        *,
        states: tuple[str, ...] = ("PENDING", "RUNNING", "TERMINATED"),
        result: str = "SUCCESS",
        error: str | None = None,
    ) -> None:
        """The life cycle states ``runs/get`` walks through (one per call), and how the run ends:
        ``SUCCESS`` runs the task for real (its own outcome decides); ``FAILED`` with ``error``,
        ``CANCELED`` or ``TIMEDOUT`` stand for what the platform does to a run."""
        self.run_states = states
        self.run_result = result
        self.task_error = error

    def script_endpoint(self, *, not_ready_polls: int = 1, failure: str | None = None) -> None:
        """How many ``GET serving-endpoints/{name}`` answer NOT_READY first; or an update failure."""
        self.serving.not_ready = not_ready_polls
        self.serving.failure = failure

    def script_warehouse(self, *states: str) -> None:
        """The warehouse's states, one per read (``"STOPPED"`` stays until it is started)."""
        self.sql.warehouse_states = list(states)

    def fail_statement(self, match: str, message: str) -> None:
        """Statements whose text matches the regex ``match`` end FAILED with ``message``."""
        self.sql.failures.append((re.compile(match, re.IGNORECASE | re.DOTALL), message))

    def configure(self, **settings: Any) -> Workspace:
        """Change ``[databricks]`` settings of :attr:`workspace` (a new workspace object) and return it."""
        from cloudml_edu.workspace import Workspace

        config = self.workspace.config
        databricks = config.databricks
        assert databricks is not None
        updated = type(databricks).model_validate({**databricks.model_dump(), **settings})
        self.workspace = Workspace(config.model_copy(update={"databricks": updated}))
        return self.workspace

    def _handle(self, prepared: Any) -> Reply:
        """Requests to any other host fail to connect, as a wrong ``[databricks] host`` would."""
        if not str(prepared.url).startswith(self.host):
            import requests

            raise requests.exceptions.ConnectionError(f"cannot connect to {prepared.url}")
        return super()._handle(prepared)

    # ---- what was sent -------------------------------------------------------
    @property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        return self.serving.endpoints

    @property
    def bytes_sent(self) -> int:
        return sum(r.size for r in self.requests)


@contextmanager
def fake_databricks(
    root: Path, *, storage: StorageConfig | None = None, owner: str = "tester"
) -> Iterator[FakeDatabricks]:
    """Intercept HTTP to :data:`FAKE_HOST` and make every wait of the adapter instant.

    The yielded fake's ``workspace`` has ``[databricks]`` pointing at the fake host
    with :data:`FAKE_TOKEN`, and ``storage`` (default: a local folder; the lab's
    hive metastore tables need an Azure Blob container, such as Azurite's).  Clear
    ``DATABRICKS_*`` variables and point ``HOME`` at an empty folder first (the fixture does).
    """
    from cloudml_edu._lazy import require

    require("responses", extra="dev")
    require("databricks.sdk", extra="databricks")
    from databricks.sdk.clock import Clock

    from cloudml_edu.backends.databricks.connection import Timing
    from cloudml_edu.config import CloudMLConfig, DatabricksConfig
    from cloudml_edu.workspace import Workspace

    class _SdkClock(FakeClock, Clock):
        """The fake clock, typed as the SDK's Clock."""

    fake = FakeDatabricks(root)
    fake.clock = _SdkClock()
    config = CloudMLConfig(
        owner=owner,
        root=root,
        storage=storage or StorageConfig(),
        databricks=DatabricksConfig(
            host=fake.host, token=SecretStr(fake.token), warehouse_id=fake.warehouse_id
        ),
    )
    fake.workspace = Workspace(config)
    saved = (Timing.clock, Timing.interval, Timing.max_interval)
    Timing.clock, Timing.interval, Timing.max_interval = fake.clock, 0.0, 0.0
    try:
        with fake:
            yield fake
    finally:
        Timing.clock, Timing.interval, Timing.max_interval = saved
