"""The ``automl`` backend on Databricks: AutoML on a feature table, as a one-time job run.

``begin_fit`` (0) checks, before anything is billed, who the student is, their
Unity Catalog privileges (or, for the lab's hive metastore tables, the
warehouse and the cluster's storage access) and the registry; (1) turns the
images into a feature table with the local backends' featurizer and split
(:mod:`cloudml_edu.training.tabular`) and uploads it as Parquet to a Unity
Catalog volume (or the blob container + a hive metastore table); past
``[databricks] spark_featurize_above`` images it uploads the images and the
cluster featurizes them; (2) uploads the task and the few modules it needs as
workspace files (:mod:`.task_code`; nothing is installed over the runtime);
(3) submits a one-time run (``POST /api/2.2/jobs/runs/submit``) on a
single-node, single-user cluster of the configured LTS ML runtime.  The poller
follows ``jobs/runs/get``; at the end the task's output (``get-output`` of the
*task* run) names the best trial, whose MLflow run gives the metrics, and the
registered model.  Features and code are content-addressed and remembered, so a
second fit of the same data sends neither again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from cloudml_edu.backends.databricks import known, unity
from cloudml_edu.backends.databricks.cluster import cluster_spec, reads_account
from cloudml_edu.backends.databricks.connection import (
    Timing,
    client_for,
    databricks_config,
    require_sdk,
    translate_error,
)
from cloudml_edu.backends.databricks.environment import runtime
from cloudml_edu.backends.databricks.tables import (
    create_table_sql,
    run_sql,
    schema_sql,
    storage_location,
)
from cloudml_edu.backends.databricks.task_code import TASK, code_digest, task_files
from cloudml_edu.backends.template import TrainingBackend
from cloudml_edu.catalog import table_name
from cloudml_edu.errors import BackendError, ConfigError
from cloudml_edu.pricing import DBU_PER_NODE_HOUR, estimate_cost, price_of
from cloudml_edu.records.metrics import Metrics
from cloudml_edu.records.plan import Plan, PlanStep
from cloudml_edu.records.run import TERMINAL, RemoteJob, RunRecord, RunStatus, TrialRecord

if TYPE_CHECKING:
    from cloudml_edu.config import DatabricksConfig
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.options import TrainOptions
    from cloudml_edu.workspace import Workspace

__all__ = ["AUTOML_METRICS", "DatabricksAutoML", "automl_minutes"]

log = logging.getLogger(__name__)

#: The library's primary metrics in AutoML's names.  AutoML's ``f1`` (like its
#: precision and recall) is the *weighted* average over classes for multiclass.
AUTOML_METRICS = {
    "accuracy": "accuracy",
    "f1_weighted": "f1",
    "f1_macro": "f1",
    "log_loss": "log_loss",
}
#: AutoML refuses a time budget under 5 minutes.
MIN_AUTOML_MINUTES = 5
#: Cluster start, AutoML's data checks and model registration, on top of the search.
OVERHEAD_MINUTES = 8.0
RESULT_MARKER = "CLOUDML_RESULT "
_RUNNING = {"RUNNING", "TERMINATING"}
_ENDED = {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}


def automl_minutes(options: TrainOptions, *, warn: bool = True) -> int:
    """AutoML's ``timeout_minutes`` for ``options``; with ``warn``, say where it differs."""
    minutes = max(MIN_AUTOML_MINUTES, round(options.timeout_minutes))
    if not warn:
        return minutes
    default_trials = type(options).model_fields["max_trials"].default
    if "max_trials" in options.model_fields_set and options.max_trials != default_trials:
        log.warning(
            "Databricks AutoML cannot limit trials (max_trials is not supported on Runtime 11 ML "
            "and above); max_trials=%d is ignored, the search runs for timeout_minutes",
            options.max_trials,
        )
    if minutes != options.timeout_minutes:
        log.warning(
            "Databricks AutoML runs whole minutes, at least %d: timeout_minutes=%g becomes %d",
            MIN_AUTOML_MINUTES,
            options.timeout_minutes,
            minutes,
        )
    if options.primary_metric == "f1_macro":
        log.warning(
            "Databricks AutoML ranks trials by its f1, a weighted average over classes; "
            "the run's f1_macro is computed from the best model's test predictions"
        )
    if options.families:
        log.warning("Databricks AutoML chooses its own model families; families is ignored")
    return minutes


def _dbu_rate(settings: DatabricksConfig) -> float:
    """DBUs per node-hour: ``[databricks] dbu_per_node_hour``, else the recorded rate of the VM size."""
    if settings.dbu_per_node_hour is not None:
        return settings.dbu_per_node_hour
    found = DBU_PER_NODE_HOUR.get(settings.node_type_id)
    if found is None:
        raise ConfigError(
            f"no recorded DBU rate for {settings.node_type_id}; set [databricks] "
            "dbu_per_node_hour (the Azure Databricks pricing page lists it per VM size)"
        )
    return found


def _status(life_cycle: str, result: str | None) -> RunStatus:
    if life_cycle in _ENDED:
        if result == "SUCCESS":
            return "Completed"
        return "Canceled" if result == "CANCELED" else "Failed"
    return "Running" if life_cycle in _RUNNING else "NotStarted"


class DatabricksAutoML(TrainingBackend):
    """Databricks AutoML on the images' feature table, started and followed from here."""

    name: ClassVar[str] = "automl"
    target: ClassVar[str] = "databricks"

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None:
        super().__init__(workspace, options, progress=progress)
        self.poll_interval, self.poll_max_interval = Timing.interval, Timing.max_interval
        self.settings = databricks_config(workspace)
        require_sdk()
        self.runtime = runtime(self.settings.runtime)
        self.minutes = automl_minutes(options, warn=False)
        price_of(self.settings.node_type_id, overrides=workspace.config.prices)  # fail early
        self.dbu_per_node_hour = _dbu_rate(self.settings)

    @property
    def _where(self) -> str:
        return self.settings.host or "Databricks"

    # ---- names and bodies (no network) -------------------------------------------
    def _feature_key(self, dataset: Dataset) -> str:
        o = self.options
        text = json.dumps(
            [dataset.manifest.fingerprint(), o.feature_spec().to_dict(), o.test_size, o.seed]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def _feature_prefix(self, dataset: Dataset) -> str:
        return f"{self.workspace.owner}/features/{dataset.name}/{self._feature_key(dataset)}"

    def _feature_table(self, dataset: Dataset) -> str:
        table = f"{dataset.name}_features_{self._feature_key(dataset)}"
        return table_name(table, schema=self.workspace.schema)  # ConfigError for a bad name

    def _on_cluster(self, dataset: Dataset) -> bool:
        """Whether the cluster featurizes (past ``spark_featurize_above`` images)."""
        return len(dataset) > self.settings.spark_featurize_above

    def _volume_folder(self, dataset: Dataset) -> str:
        kind = "images" if self._on_cluster(dataset) else "features"
        return unity.volume_path(
            self.workspace, self.settings, kind, dataset.name, self._feature_key(dataset)
        )

    def _source(self, dataset: Dataset) -> str:
        """What the task reads: a volume folder, the hive table, or its Parquet folder."""
        if self.settings.features == "volume":
            return self._volume_folder(dataset)
        if self.settings.warehouse_id:
            return self._feature_table(dataset)
        return storage_location(self.workspace, self._feature_prefix(dataset))

    def _table_sql(self, dataset: Dataset) -> list[str]:
        if self.settings.features != "hive_metastore" or not self.settings.warehouse_id:
            return []
        location = storage_location(self.workspace, self._feature_prefix(dataset))
        properties = {"cloudml.owner": self.workspace.owner, "cloudml.dataset": dataset.name}
        return [
            schema_sql(self.workspace),
            create_table_sql(self._feature_table(dataset), location, properties),
        ]

    def _code_dir(self) -> str:
        """The workspace folder of the task and its modules, named by their content."""
        return f"{self.settings.workspace_dir}/{self.workspace.owner}/code-{code_digest()}"

    def _task_path(self) -> str:
        return f"{self._code_dir()}/{TASK}"

    def _model_name(self, dataset: Dataset) -> str:
        return unity.model_name(self.workspace, self.settings, dataset.name)

    def _cluster(self, single_user: str) -> dict[str, Any]:
        s = self.settings
        return cluster_spec(
            spark_version=s.spark_version or self.runtime.spark_version,
            node_type_id=s.node_type_id,
            single_user=single_user,
            owner=self.workspace.owner,
            extra=self.options.backend_options.get("new_cluster", {}),
        )

    def submit_body(self, dataset: Dataset, *, single_user: str) -> dict[str, Any]:
        """The ``jobs/runs/submit`` body: one task on a single-node, single-user ML cluster,
        nothing installed (the code comes as workspace files)."""
        s, o = self.settings, self.options
        cluster = self._cluster(single_user)
        parameters = {
            "--code-dir": f"/Workspace{self._code_dir()}",
            "--source": self._source(dataset),
            "--input": "images" if self._on_cluster(dataset) else "features",
            "--primary-metric": AUTOML_METRICS[o.primary_metric],
            "--timeout-minutes": str(self.minutes),
            "--experiment-dir": f"{s.workspace_dir}/{self.workspace.owner}/experiments",
            "--model-name": self._model_name(dataset),
            "--registry-uri": "databricks-uc" if s.registry == "unity-catalog" else "databricks",
            "--feature-spec": json.dumps(o.feature_spec().to_dict()),
        }
        body: dict[str, Any] = {
            "run_name": f"cloudml-{self.workspace.owner}-automl-{dataset.name}",
            "timeout_seconds": int((self.minutes + 2 * OVERHEAD_MINUTES) * 60),
            "tasks": [
                {
                    "task_key": "automl_classify",
                    "spark_python_task": {
                        "python_file": self._task_path(),
                        "source": "WORKSPACE",
                        "parameters": [x for pair in parameters.items() for x in pair],
                    },
                    "new_cluster": cluster,
                }
            ],
        }
        body.update({k: v for k, v in o.backend_options.items() if k != "new_cluster"})
        return body

    def cost_usd(self, node_hours: float, *, sku: str) -> float:
        """``node_hours`` of node type ``sku``: the VM's price plus its DBUs."""
        s = self.settings
        return estimate_cost(
            sku,
            node_hours,
            overrides=self.workspace.config.prices,
            dbu_per_node_hour=self.dbu_per_node_hour,
            dbu_rate=s.dbu_rate,
        )

    def plan(self, dataset: Dataset) -> Plan:
        """The feature table, the SQL, the task upload and the submit body, with a cost estimate."""
        automl_minutes(self.options)  # warns about options AutoML treats differently
        s = self.settings
        single_user = s.single_user_name or "<you: the signed-in user>"
        minutes = self.minutes + OVERHEAD_MINUTES
        vm = price_of(s.node_type_id, overrides=self.workspace.config.prices)
        dbu = price_of(s.dbu_rate, overrides=self.workspace.config.prices)
        where = "on the cluster (Spark pandas UDF)" if self._on_cluster(dataset) else "here"
        steps = [
            PlanStep(
                name="featurize",
                action=f"turn the images into a feature table {where} (same featurizer and split as locally)",
                detail={"features": self.options.feature_spec().to_dict(), "images": len(dataset)},
            ),
        ]
        if s.features == "volume":
            steps.append(
                PlanStep(
                    name="store",
                    action="upload the table as Parquet to your Unity Catalog volume (Files API)",
                    detail={"path": self._source(dataset) + "/part-00000.parquet"},
                )
            )
        else:
            steps.append(
                PlanStep(
                    name="register",
                    action="write Parquet to the blob container and register a hive metastore table",
                    detail={
                        "parquet": storage_location(self.workspace, self._feature_prefix(dataset)),
                        "sql": self._table_sql(dataset),
                        "warehouse_id": s.warehouse_id,
                    },
                )
            )
        steps += [
            PlanStep(
                name="upload",
                action="upload the task and the modules it imports as workspace files (nothing installed)",
                detail={"folder": self._code_dir(), "files": sorted(task_files())},
            ),
            PlanStep(
                name="submit",
                action=f"one-time run: AutoML classify for {self.minutes} min on a single-node ML cluster",
                detail={
                    "POST /api/2.2/jobs/runs/submit": self.submit_body(
                        dataset, single_user=single_user
                    )
                },
            ),
        ]
        return Plan(
            backend=self.name,
            target="databricks",
            dataset=dataset.name,
            steps=steps,
            compute_sku=s.node_type_id,
            nodes=1,
            estimated_minutes=round(minutes, 1),
            estimated_cost_usd=self.cost_usd(minutes / 60, sku=s.node_type_id),
            price_source=f"{vm.describe()} + {self.dbu_per_node_hour:g} DBU/node-hour at {dbu.describe()}",
        )

    # ---- starting ------------------------------------------------------------------
    def prepare_inputs(self, dataset: Dataset) -> dict[str, Any]:
        """Featurize and upload (unless already there): the run's record starts after this."""
        if len(dataset) == 0:
            raise ConfigError(f"dataset {dataset.name} has no images; nothing to train on")
        client = client_for(self.workspace)
        single_user = self._single_user(client)  # also checks the credentials, before featurizing
        self._preflight(client, single_user)
        self._ensure_features(client, dataset)
        self._ensure_task(client)
        train, test = dataset.split(test_size=self.options.test_size, seed=self.options.seed)
        remote = RemoteJob(
            service="databricks",
            name="",
            url="",
            status="SUBMITTING",
            compute=self.settings.node_type_id,
            nodes=1,
            details={"images": {"train+validate": len(train), "test": len(test)}},
        )
        return {"remote": remote}

    def start(self, run: RunRecord, dataset: Dataset) -> None:
        """Submit the one-time run (the template records a failure)."""
        from databricks.sdk.service.jobs import SubmitTask

        client = client_for(self.workspace)
        body = self.submit_body(dataset, single_user=self._single_user(client))
        body["idempotency_token"] = run.id  # a retried submit starts no second run
        try:
            submitted = client.jobs.submit(
                **{k: v for k, v in body.items() if k != "tasks"},
                tasks=[SubmitTask.from_dict(t) for t in body["tasks"]],
            )
        except Exception as exc:
            raise translate_error(exc, action="submit the AutoML run", where=self._where) from exc
        run.remote = _remote(run).model_copy(
            update={"name": str(submitted.run_id), "status": "PENDING"}
        )

    def _single_user(self, client: Any) -> str:
        """``[databricks] single_user_name``, else the signed-in user (asked once, remembered)."""
        if self.settings.single_user_name:
            return self.settings.single_user_name
        remembered = known.recall(self.workspace).get("user")
        if isinstance(remembered, str):
            return remembered
        try:
            user = str(client.current_user.me().user_name)
        except Exception as exc:
            raise translate_error(exc, action="read the signed-in user", where=self._where) from exc
        known.remember(self.workspace, user=user)
        return user

    def _preflight(self, client: Any, user: str) -> None:
        """What Databricks would refuse after billing, asked first: registry, grants, storage."""
        s = self.settings
        unity.check_registry(client, s, self._where)
        if s.registry == "unity-catalog" or s.features == "volume":
            unity.check_privileges(client, self.workspace, s, user)
        if s.features == "hive_metastore":
            location = storage_location(self.workspace, "x")  # ConfigError without Azure Blob
            account = location.split("@", 1)[1].split(".", 1)[0]
            if not reads_account(self._cluster(user), account):
                raise ConfigError(
                    f"the job cluster has no credentials for storage account {account}: pass "
                    'backend_options={"new_cluster": {"spark_conf": {"fs.azure.account.key.'
                    f'{account}.dfs.core.windows.net": "{{{{secrets/<scope>/<key>}}}}"}}}} '
                    '(you; a workspace admin creates the secret scope), or use [databricks] features = "volume"'
                )

    def _table_bytes(self, dataset: Dataset) -> bytes:
        """The Parquet the task reads: features, or (featurized on the cluster) the images."""
        import io

        from cloudml_edu.training.tabular import feature_frame, image_frame

        o = self.options
        if self._on_cluster(dataset):
            frame = image_frame(dataset, test_size=o.test_size, seed=o.seed)
        else:
            frame = feature_frame(dataset, o.feature_spec(), test_size=o.test_size, seed=o.seed)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()

    def _ensure_features(self, client: Any, dataset: Dataset) -> None:
        """Upload the table (volume, or blob container + hive table), unless already done."""
        if self.settings.features == "volume":
            path = self._source(dataset) + "/part-00000.parquet"
            if known.has(self.workspace, path):
                return
            unity.ensure_volume(client, self.workspace, self.settings, self._where)
            unity.upload_file(client, path, self._table_bytes(dataset), self._where)
            known.remember(self.workspace, uploaded=path)
            return
        key = self._feature_prefix(dataset) + "/part-00000.parquet"
        store = self.workspace.store
        storage_location(self.workspace, key)  # ConfigError without Azure Blob
        if store.info(key) is not None and known.has(self.workspace, key):
            return
        store.put_bytes(key, self._table_bytes(dataset))
        for statement in self._table_sql(dataset):
            run_sql(self.workspace, statement)
        known.remember(self.workspace, uploaded=key)

    def _ensure_task(self, client: Any) -> None:
        """Upload the task and its modules (a content-addressed folder) unless already there."""
        from databricks.sdk.service.workspace import ImportFormat

        folder = self._code_dir()
        if known.has(self.workspace, folder):
            return
        try:
            files = task_files()
            for sub in sorted({f"{folder}/{name}".rsplit("/", 1)[0] for name in files}):
                client.workspace.mkdirs(sub)
            for name, content in sorted(files.items()):
                path = f"{folder}/{name}"
                client.workspace.upload(path, content, format=ImportFormat.AUTO, overwrite=True)
        except Exception as exc:
            raise translate_error(exc, action=f"upload {folder}", where=self._where) from exc
        known.remember(self.workspace, uploaded=folder)

    # ---- following ------------------------------------------------------------------
    def refresh(self, run: RunRecord, /) -> RunRecord:
        """Ask Databricks for the run's state; at the end, read the task's output and metrics."""
        remote = _remote(run)
        run_id = int(remote.name)
        client = client_for(self.workspace)
        try:
            found = client.jobs.get_run(run_id)
        except Exception as exc:
            raise translate_error(exc, action=f"read run {run_id}", where=self._where) from exc
        state = found.state
        life = state.life_cycle_state.value if state and state.life_cycle_state else "PENDING"
        result = state.result_state.value if state and state.result_state else None
        status = _status(life, result)
        run.remote = remote.model_copy(
            update={
                "url": found.run_page_url or remote.url,
                "status": result or life,
                "started": _time(found.start_time),
                "ended": _time(found.end_time),
            }
        )
        if status in TERMINAL and run.status not in TERMINAL:
            seconds = ((found.end_time or 0) - (found.start_time or 0)) / 1000
            task_run = (found.tasks[0].run_id if found.tasks else None) or run_id
            if status == "Completed":
                try:
                    self._collect(run, task_run, max(seconds, 0.0))
                except BackendError as exc:
                    status, run.error = "Failed", str(exc)
            else:
                run.error = self._task_error(task_run, result, state, run.remote.url)
            run.ended = datetime.now(UTC)
        run.status = status
        self.save(run)
        return run

    def _output(self, task_run: int) -> Any:
        try:
            return client_for(self.workspace).jobs.get_run_output(task_run)
        except Exception as exc:
            raise translate_error(
                exc,
                action=f"read the output of task run {task_run}",
                where=self._where,
            ) from exc

    def _task_error(self, task_run: int, result: str | None, state: Any, url: str) -> str:
        output = self._output(task_run)
        detail = output.error or (state.state_message if state else "") or "no error text"
        fix = next((advice for pattern, advice in _TASK_ADVICE if re.search(pattern, detail)), "")
        return f"Databricks run ended {result}: {detail}; {fix}see {url}"

    def _collect(self, run: RunRecord, task_run: int, seconds: float) -> None:
        """Trials and model from the task's output, metrics from the best trial's MLflow run."""
        output = self._output(task_run)
        lines = [x for x in (output.logs or "").splitlines() if x.startswith(RESULT_MARKER)]
        if not lines:
            raise BackendError(
                f"the AutoML task of run {run.id} ended without a result line; see its logs "
                f"in {_remote(run).url}"
            )
        result = json.loads(lines[-1][len(RESULT_MARKER) :])
        metrics = self.priced(
            self._test_metrics(result) or self._trial_metrics(result["best_run_id"]),
            sku=self.settings.node_type_id,
            nodes=1,
            seconds=seconds,
        )
        images = _remote(run).details.get("images", {})
        run.metrics = metrics.model_copy(
            update={
                "n_train": int(images.get("train+validate", 0)),
                "n_test": int(images.get("test", 0)),
                "train_seconds": seconds,
            }
        )
        run.trials = [
            TrialRecord(
                number=number,
                family=str(trial["model"]).split("(", 1)[0],
                params=dict(trial.get("params", {})),
                score=trial.get("score"),
                seconds=float(trial.get("duration", 0.0)),
                run_id=str(trial["run_id"]),
            )
            for number, trial in enumerate(result["trials"], 1)
        ]
        run.model = f"models:/{result['model_name']}/{result['model_version']}"

    def _test_metrics(self, result: dict[str, Any]) -> Metrics | None:
        """Every metric, from the registered model's own probabilities on the test split."""
        import numpy as np

        from cloudml_edu.training.evaluate import evaluate
        from cloudml_edu.training.scores import Scores

        test = result.get("test")
        if not test:
            return None
        labels = list(test["labels"])
        probabilities = np.asarray(test["probabilities"], dtype=np.float64)
        probabilities /= probabilities.sum(axis=1, keepdims=True)  # sent rounded to 6 places
        predicted = [labels[i] for i in probabilities.argmax(axis=1)]
        scores = Scores(labels=labels, predicted=predicted, probabilities=probabilities)
        return evaluate(test["truth"], scores, n_train=0, train_seconds=0.0)

    def _trial_metrics(self, run_id: str) -> Metrics:
        """AutoML's scalars of the best trial's MLflow run (``test_*``, else ``val_*``)."""
        try:
            best = client_for(self.workspace).experiments.get_run(run_id).run
            found = best.data.metrics if best and best.data else None
        except Exception as exc:
            raise translate_error(
                exc, action="read the best trial's metrics", where="Databricks MLflow"
            ) from exc
        return Metrics.from_native(
            {m.key: m.value for m in found or [] if m.key and m.value is not None}
        )

    def cancel(self, run: RunRecord, /) -> None:
        """Ask Databricks to cancel the run (the poller refreshes it afterwards)."""
        run_id = int(_remote(run).name)
        try:
            client_for(self.workspace).jobs.cancel_run(run_id)
        except Exception as exc:
            raise translate_error(exc, action=f"cancel run {run_id}", where=self._where) from exc

    def describe(self, run: RunRecord, elapsed: float, /) -> str:
        remote = _remote(run)
        return (
            f"automl on Databricks: {remote.status.lower()} after {elapsed:.0f} s "
            f"({remote.url or 'starting'})"
        )

    def failure_message(self, record: RunRecord) -> str:
        return f"automl run {record.id[:8]} on Databricks {record.status}: {record.error}"


#: What to do about errors only the running task can meet (the rest is checked before submitting).
_TASK_ADVICE = (
    (
        r"Failure to initialize configuration for storage account|fs\.azure\.account",
        "the cluster cannot read the storage account: add its key to backend_options "
        "new_cluster.spark_conf as {{secrets/<scope>/<key>}} (you; an admin makes the scope), ",
    ),
    (
        r"FEATURE_DISABLED|Model Registry is disabled",
        'the legacy registry is disabled: remove [databricks] registry = "workspace" (you), ',
    ),
    (
        r"PERMISSION_DENIED|does not have .* on",
        "a Unity Catalog grant is missing: `cloudml-edu doctor` names it (a workspace admin grants it), ",
    ),
)


def _remote(run: RunRecord) -> RemoteJob:
    if run.remote is None or run.remote.service != "databricks":
        raise ConfigError(f"run {run.id} was not started on Databricks; it has no Databricks run")
    return run.remote


def _time(epoch_ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else None
