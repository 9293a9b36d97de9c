"""The conformance suite: what every target (local, Azure ML, Databricks, a third party's) must do.

Shipped in the package, like fsspec's ``tests/abstract/``, so a target written
outside this repository runs the same cases.  A target's own test module
subclasses :class:`TargetConformance` and gives it a ``harness`` fixture: a
:class:`TargetHarness` holding a workspace of the target, the fake that counts
its requests (or None) and the few things only the target knows (how to keep a
run running, how to script a failure, where the served model's files are)::

    class TestMyCloud(TargetConformance):
        backends = ("sdk",)            # every case runs once per backend
        cancel_backends = ("sdk",)     # backends whose runs can be caught running
        serving_backends = ("sdk",)    # backends whose models are deployed

        @pytest.fixture
        def harness(self, my_fake, monkeypatch):
            return MyCloudHarness(my_fake, monkeypatch)

The cases (one test each, per backend): ``plan()`` sends no request and shows
what it would create and cost; ``begin_fit`` -> poller -> the run found by id
through a second workspace object and from another process; cancel -> a
Canceled record; a scripted failure -> a typed error and a Failed record; the
metrics schema complete; deploy -> predict -> delete; the served model loads
and predicts in a twin holding only its declared requirements.

A case a target cannot pass yet is listed in ``expected_failures`` (``"case"``
or ``"case[backend]"`` -> reason); it runs as ``xfail(strict=True)``, so it
turns into a failure the moment it passes and the entry must go.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import pytest

from cloudml_edu.errors import BackendError, CloudMLError, ConfigError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu import Dataset, Endpoint, Metrics, Workspace
    from cloudml_edu.environments import EnvironmentSpec

__all__ = [
    "SAMPLE_CLASSES",
    "TargetConformance",
    "TargetHarness",
    "no_sockets",
    "sample_folder",
    "served_model_spec",
]

#: The sample's class folders: digits 0-3 of scikit-learn's set, named in words, so an
#: answer a fake made up ("0") is never a valid label.
SAMPLE_CLASSES: dict[int, str] = {0: "zero", 1: "one", 2: "two", 3: "three"}
#: Images per class in the sample: enough for every backend's split (5 to train, 1 to test).
SAMPLE_PER_CLASS = 15
#: Seconds any one wait of the suite may take; a fake answers at once, a local job in seconds.
WAIT_SECONDS = 300.0
#: The twin of a served model: its requirements with ``mlflow`` swapped for ``mlflow-skinny``.
SERVED_TWIN = "served-model"

F = TypeVar("F", bound=Callable[..., Any])


class HasRequests(Protocol):
    """A fake that records what was sent: every fake of :mod:`cloudml_edu.testing` has this."""

    @property
    def requests(self) -> list[Any]: ...


class TargetHarness:
    """What the suite needs of one target; subclass it next to the target's tests.

    ``workspace`` is a fresh workspace of the target (one per test); ``fake`` the
    fake its requests go to (its ``requests`` list stays empty through ``plan``),
    None when nothing is faked (local).  Override the methods that raise.
    """

    #: The target's name as runs and plans record it (``run.target``, ``plan.target``).
    target: ClassVar[str]
    #: True when a fit is billed, so the plan must estimate a cost above zero.
    billed: ClassVar[bool] = True
    #: True when another process can reach the target: it then waits on the run itself
    #: (a local job); False for an in-memory fake, which another process cannot see, so
    #: there it reads the record this process stored.
    reachable_from_subprocess: ClassVar[bool] = False

    def __init__(self, workspace: Workspace, fake: HasRequests | None = None) -> None:
        self.workspace = workspace
        self.fake = fake

    def reopen(self) -> Workspace:
        """A second Workspace object over the same settings, sharing no state with the first."""
        from cloudml_edu import Workspace

        return Workspace(self.workspace.config.model_copy(deep=True))

    def config_text(self) -> str:
        """The ``cloudml.toml`` of this workspace, for another process (override to add the
        target's section)."""
        return f'owner = "{self.workspace.owner}"\nroot = "{self.workspace.root.as_posix()}"\n'

    def options(self, backend: str) -> dict[str, Any]:
        """Trainer options that make a fit with ``backend`` fast (small model, few trials)."""
        if backend == "automl":
            return {"max_trials": 2, "families": ["knn"], "timeout_minutes": 5}
        return {"model": "knn", "params": {"n_neighbors": 1}}

    def hold_next_run(self, backend: str) -> Callable[[], None]:
        """Keep the next run of ``backend`` running until the returned release is called."""
        raise NotImplementedError(f"{type(self).__name__} cannot hold a {backend} run running")

    def script_failure(self, backend: str, dataset: Dataset) -> str:
        """Make the next fit of ``dataset`` with ``backend`` fail after its run is recorded (the
        dataset's folder is the test's own copy: it may be damaged); return a text the
        error and the record must contain."""
        raise NotImplementedError(f"{type(self).__name__} cannot script a {backend} failure")

    def served_model(self, endpoint: Endpoint, dest: Path) -> Path:
        """The files of the model ``endpoint`` serves, copied under ``dest``: the folder
        holding its ``MLmodel``, as the target's serving loads it."""
        raise NotImplementedError(f"{type(self).__name__} cannot fetch a served model")

    def close(self) -> None:
        """Release anything the harness holds (called after each test)."""


def _over(kind: str) -> Callable[[F], F]:
    """Run the decorated case once per backend of the class attribute ``kind``."""

    def mark(case: F) -> F:
        case._conformance_backends = kind  # type: ignore[attr-defined]
        return case

    return mark


class TargetConformance:
    """The cases every target passes; subclass with a ``harness`` fixture (see the module)."""

    #: Backends every case runs with.
    backends: ClassVar[tuple[str, ...]] = ("designer", "sdk", "automl")
    #: Backends whose runs can be held running (see :meth:`TargetHarness.hold_next_run`).
    cancel_backends: ClassVar[tuple[str, ...]] = ()
    #: Backends whose models the endpoint cases deploy.
    serving_backends: ClassVar[tuple[str, ...]] = ()
    #: ``"case"`` or ``"case[backend]"`` -> why it fails for now; run as strict xfail.
    expected_failures: ClassVar[Mapping[str, str]] = {}

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize ``backend`` by the case's kind, marking the expected failures."""
        if "backend" not in metafunc.fixturenames:
            return
        cls = type(self)
        case = metafunc.function.__name__
        cases = {name for name in dir(cls) if name.startswith("test_")}
        unknown = sorted(key for key in cls.expected_failures if key.split("[", 1)[0] not in cases)
        if unknown:
            raise ConfigError(
                f"{cls.__name__}.expected_failures names no case of the suite: {unknown}; "
                f"the cases are {sorted(cases)}"
            )
        kind = getattr(metafunc.function, "_conformance_backends", "backends")
        params = []
        for backend in getattr(cls, kind):
            reason = cls.expected_failures.get(f"{case}[{backend}]") or cls.expected_failures.get(
                case
            )
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(backend, id=backend, marks=marks))
        metafunc.parametrize("backend", params)

    # ---- fixtures ----------------------------------------------------------------------

    @pytest.fixture
    def harness(self) -> TargetHarness:
        """The target under test: a subclass overrides this fixture."""
        raise ConfigError(
            f"{type(self).__name__} needs a `harness` fixture returning a TargetHarness"
        )

    @pytest.fixture
    def conformance_harness(self, harness: TargetHarness) -> Iterator[TargetHarness]:
        """The harness, closed after the test."""
        try:
            yield harness
        finally:
            harness.close()

    @pytest.fixture
    def dataset(self, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
        """The sample, copied for this test (a failure case may damage its copy)."""
        from cloudml_edu import Dataset

        folder = shutil.copytree(sample_folder(tmp_path_factory), tmp_path / "digits")
        return Dataset.from_folder(folder, name="digits", progress=False)

    # ---- the cases ---------------------------------------------------------------------

    def test_plan_sends_no_request(
        self, conformance_harness: TargetHarness, backend: str, dataset: Dataset
    ) -> None:
        """``plan()`` opens no socket and sends nothing, and says what it creates and costs."""
        from cloudml_edu import Trainer

        h = conformance_harness
        sent_before = len(h.fake.requests) if h.fake is not None else 0
        with no_sockets():
            plan = Trainer(backend, workspace=h.workspace, **h.options(backend)).plan(dataset)
        if h.fake is not None:
            assert len(h.fake.requests) == sent_before, "plan() sent requests"
        assert plan.target == h.target and plan.backend == backend
        assert plan.dataset == dataset.name
        assert plan.steps and all(step.name and step.action for step in plan.steps)
        assert plan.price_source
        if h.billed:
            assert plan.estimated_cost_usd > 0 and plan.estimated_minutes > 0
        else:
            assert plan.estimated_cost_usd == 0
        shown = str(plan)
        assert "estimated cost" in shown and all(step.name in shown for step in plan.steps)

    def test_run_is_found_by_id_elsewhere(
        self, conformance_harness: TargetHarness, backend: str, dataset: Dataset, tmp_path: Path
    ) -> None:
        """``begin_fit`` -> poller; the run found by id through a second workspace object waits
        like the poller, and another process finds it too (waits on it when it can reach the
        target, else reads the record this process stored)."""
        from cloudml_edu import Trainer, TrainingRun

        h = conformance_harness
        trainer = Trainer(backend, workspace=h.workspace, progress=False, **h.options(backend))
        poller = trainer.begin_fit(dataset)
        run_id = poller.value.id
        config = tmp_path / "cloudml.toml"
        config.write_text(h.config_text(), encoding="utf-8")
        with ExitStack() as stack:
            elsewhere = None
            if h.reachable_from_subprocess:  # starts while the run may still be going
                elsewhere = stack.enter_context(_other_process(config, run_id, wait=True))
            found = TrainingRun.get(h.reopen(), run_id[:8])
            assert found is not poller.value and found.id == run_id
            found.wait(timeout=WAIT_SECONDS)
            run = poller.result(timeout=WAIT_SECONDS)
            assert run.status == found.status == "Completed"
            assert run.target == h.target and run.backend == backend
            assert run.metrics is not None and found.metrics == run.metrics
            assert run.model and found.model == run.model
            if elsewhere is None:
                elsewhere = stack.enter_context(_other_process(config, run_id, wait=False))
            seen = _answer_of(elsewhere)
        assert seen["status"] == "Completed" and seen["id"] == run_id
        assert seen["model"] == run.model
        assert seen["metrics"] == run.metrics.model_dump(mode="json")

    @_over("cancel_backends")
    def test_cancel_records_canceled(
        self, conformance_harness: TargetHarness, backend: str, dataset: Dataset
    ) -> None:
        """A running run canceled through its poller ends Canceled, in the poller and the record."""
        from cloudml_edu import Trainer, TrainingRun

        h = conformance_harness
        release = h.hold_next_run(backend)
        try:
            trainer = Trainer(backend, workspace=h.workspace, progress=False, **h.options(backend))
            poller = trainer.begin_fit(dataset)
            assert not poller.done(), f"the held {backend} run ended on its own"
            poller.cancel()
            with pytest.raises(BackendError, match="Canceled"):
                poller.result(timeout=WAIT_SECONDS)
        finally:
            release()
        assert poller.value.status == "Canceled" and poller.value.ended is not None
        stored = TrainingRun.get(h.reopen(), poller.value.id)
        assert stored.status == "Canceled" and stored.ended is not None

    def test_failure_is_typed_and_recorded(
        self, conformance_harness: TargetHarness, backend: str, dataset: Dataset
    ) -> None:
        """A run that fails raises a CloudMLError subclass naming the cause; its record is Failed."""
        from cloudml_edu import Trainer, TrainingRun

        h = conformance_harness
        cause = h.script_failure(backend, dataset)
        trainer = Trainer(backend, workspace=h.workspace, progress=False, **h.options(backend))
        with pytest.raises(CloudMLError) as caught:
            trainer.fit(dataset, timeout=WAIT_SECONDS)
        assert type(caught.value) is not CloudMLError, "raise a subclass the caller can act on"
        assert cause in str(caught.value)
        (stored,) = TrainingRun.list(h.reopen())
        assert stored.status == "Failed" and stored.backend == backend
        assert stored.ended is not None and stored.error and cause in stored.error

    def test_metrics_schema_is_complete(
        self, conformance_harness: TargetHarness, backend: str, dataset: Dataset
    ) -> None:
        """Every field of Metrics is there and agrees with the dataset's test split."""
        from cloudml_edu import Trainer

        h = conformance_harness
        options = h.options(backend)
        run = Trainer(backend, workspace=h.workspace, progress=False, **options).fit(
            dataset, timeout=WAIT_SECONDS
        )
        assert run.metrics is not None
        train, test = dataset.split(
            test_size=options.get("test_size", 0.2), seed=options.get("seed", 0)
        )
        check_metrics(run.metrics, classes=dataset.classes, n_test=len(test), n_train=len(train))

    @_over("serving_backends")
    def test_deploy_predict_delete(
        self, conformance_harness: TargetHarness, backend: str, dataset: Dataset
    ) -> None:
        """A trained model is deployed, found by name, answers with the dataset's labels, and is
        gone after ``delete``."""
        from cloudml_edu import Endpoint

        h = conformance_harness
        endpoint = _deployed(h, backend, dataset, name=f"conform-{backend}")
        try:
            images = _one_per_class(dataset)
            predictions = endpoint.predict(images, timeout=WAIT_SECONDS)
            assert len(predictions) == len(images)
            for prediction in predictions:
                assert prediction.label in dataset.classes
                assert 0.0 <= prediction.score <= 1.0
                assert set(prediction.scores) == set(dataset.classes)
                assert prediction.score == pytest.approx(max(prediction.scores.values()))
            again = Endpoint.get(h.reopen(), endpoint.name)
            assert again.state == "live" and again.model_uri == endpoint.model_uri
        finally:
            endpoint.delete(timeout=WAIT_SECONDS)
        with pytest.raises(NotFoundError):
            Endpoint.get(h.reopen(), endpoint.name)
        assert endpoint.state == "dead"

    @_over("serving_backends")
    def test_served_model_runs_without_the_library(
        self, conformance_harness: TargetHarness, backend: str, dataset: Dataset, tmp_path: Path
    ) -> None:
        """The served model loads and predicts in a twin holding only its declared requirements
        (``mlflow-skinny`` for ``mlflow``; no ``cloudml_edu``), with the endpoint's labels."""
        from cloudml_edu.testing.twins import ensure_twin

        h = conformance_harness
        endpoint = _deployed(h, backend, dataset, name=f"conform-twin-{backend}")
        try:
            images = _one_per_class(dataset)
            served = [p.label for p in endpoint.predict(images, timeout=WAIT_SECONDS)]
            model = h.served_model(endpoint, tmp_path / "served")
        finally:
            endpoint.delete(timeout=WAIT_SECONDS)
        twin = ensure_twin(served_model_spec(model), quiet=True)
        done = twin.run(
            ["python", "-c", _LOAD_AND_PREDICT, str(model), *map(str, images)],
            cwd=tmp_path,
            timeout=WAIT_SECONDS,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == served


# ---- what the cases share --------------------------------------------------------------


def check_metrics(metrics: Metrics, *, classes: list[str], n_test: int, n_train: int) -> None:
    """Assert every field of ``metrics`` is present and consistent with the split it scored
    (``n_train`` images of the train split, ``n_test`` of the test split)."""
    from cloudml_edu import Metrics

    missing = [name for name in Metrics.model_fields if getattr(metrics, name) is None]
    assert not missing, f"metrics not reported: {missing}"
    assert sorted(metrics.labels) == sorted(classes)
    assert metrics.n_test == n_test
    assert 0 < metrics.n_train <= n_train  # automl holds a validation split out of train
    matrix = metrics.confusion_matrix
    assert len(matrix) == len(classes) and all(len(row) == len(classes) for row in matrix)
    assert sum(map(sum, matrix)) == n_test
    correct = sum(matrix[i][i] for i in range(len(classes)))
    assert metrics.accuracy == pytest.approx(correct / n_test)
    assert set(metrics.per_class) == set(classes)
    for i, label in enumerate(metrics.labels):
        report = metrics.per_class[label]
        assert report.support == sum(matrix[i])
        predicted = sum(row[i] for row in matrix)
        assert report.recall == pytest.approx(
            matrix[i][i] / report.support if report.support else 0
        )
        assert report.precision == pytest.approx(matrix[i][i] / predicted if predicted else 0)
    reports = metrics.per_class.values()
    for name in ("precision", "recall", "f1"):
        macro = sum(getattr(r, name) for r in reports) / len(classes)
        weighted = sum(getattr(r, name) * r.support for r in reports) / n_test
        assert getattr(metrics, f"{name}_macro") == pytest.approx(macro)
        assert getattr(metrics, f"{name}_weighted") == pytest.approx(weighted)
    assert metrics.log_loss is not None and metrics.log_loss >= 0
    assert metrics.train_seconds >= 0 and metrics.cost_usd >= 0
    assert metrics.compute.sku and metrics.compute.nodes >= 1


def sample_folder(factory: pytest.TempPathFactory) -> Path:
    """The suite's dataset, written once per session: :data:`SAMPLE_PER_CLASS` of scikit-learn's
    digits 0-3 as 16-pixel PNGs under ``<word>/`` (see :data:`SAMPLE_CLASSES`)."""
    root = factory.getbasetemp() / "conformance-sample"
    done = root / ".complete"
    if done.exists():
        return root / "digits"
    from cloudml_edu.samples import write_digits

    everything = write_digits(root / "all", size=16)
    for digit, word in SAMPLE_CLASSES.items():
        folder = root / "digits" / word
        folder.mkdir(parents=True, exist_ok=True)
        for image in sorted((everything / str(digit)).glob("*.png"))[:SAMPLE_PER_CLASS]:
            shutil.copyfile(image, folder / image.name)
    shutil.rmtree(everything)
    done.touch()
    return root / "digits"


@contextmanager
def no_sockets() -> Iterator[None]:
    """Within the block, any attempt to resolve a host or open a connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a network connection was attempted: {args[1:] or args}")

    patched = {
        (socket.socket, "connect"),
        (socket.socket, "connect_ex"),
        (socket, "create_connection"),
        (socket, "getaddrinfo"),
    }
    saved = {(owner, name): getattr(owner, name) for owner, name in patched}
    try:
        for owner, name in patched:
            setattr(owner, name, refuse)
        yield
    finally:
        for (owner, name), value in saved.items():
            setattr(owner, name, value)


def served_model_spec(model: Path) -> EnvironmentSpec:
    """The :class:`~cloudml_edu.environments.EnvironmentSpec` of a served model's twin: the
    Python of its ``MLmodel`` and the pins of its ``requirements.txt``, ``mlflow`` replaced by
    ``mlflow-skinny`` of the same version (DESIGN section 4: the same predictions, 54
    packages instead of 90)."""
    import yaml

    from cloudml_edu.environments import EnvironmentSpec

    meta = yaml.safe_load((model / "MLmodel").read_text(encoding="utf-8"))
    version = str(meta["flavors"]["python_function"]["python_version"])
    python = ".".join(version.split(".")[:2])
    pins = []
    for line in (model / "requirements.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if not requirement or requirement.startswith("-"):
            continue
        name, _, pinned = requirement.partition("==")
        if name.strip().lower() == "mlflow":
            requirement = f"mlflow-skinny=={pinned.strip()}"
        pins.append(requirement)
    return EnvironmentSpec(
        name=SERVED_TWIN,
        python=python,
        pins=tuple(sorted(pins)),
        source=f"{model}/requirements.txt and MLmodel",
    )


_LOAD_AND_PREDICT = """
import base64, importlib.util, json, sys
assert importlib.util.find_spec("cloudml_edu") is None, "cloudml_edu is importable in the twin"
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
column = model.metadata.get_input_schema().input_names()[0]
encoded = [base64.b64encode(open(p, "rb").read()).decode("ascii") for p in sys.argv[2:]]
answer = model.predict(pd.DataFrame({column: encoded}))
print(json.dumps([str(label) for label in answer["label"]]))
"""

_FIND_RUN = """
import json, sys
from cloudml_edu import TrainingRun, Workspace
run = TrainingRun.get(Workspace.from_config(sys.argv[1]), sys.argv[2][:8])
if sys.argv[3] == "wait":
    run.wait(timeout=float(sys.argv[4]))
metrics = run.metrics.model_dump(mode="json") if run.metrics is not None else None
print(json.dumps({"id": run.id, "status": run.status, "model": run.model, "metrics": metrics}))
"""


@contextmanager
def _other_process(config: Path, run_id: str, *, wait: bool) -> Iterator[subprocess.Popen[str]]:
    """A Python process finding run ``run_id`` through ``config``; killed if still running
    when the block ends."""
    argv = [sys.executable, "-c", _FIND_RUN, str(config), run_id]
    with subprocess.Popen(
        [*argv, "wait" if wait else "read", str(WAIT_SECONDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def _answer_of(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 0, err[-3000:]
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return answer


def _deployed(h: TargetHarness, backend: str, dataset: Dataset, *, name: str) -> Endpoint:
    from cloudml_edu import Endpoint, Trainer

    run = Trainer(backend, workspace=h.workspace, progress=False, **h.options(backend)).fit(
        dataset, timeout=WAIT_SECONDS
    )
    endpoint = Endpoint.deploy(
        run, workspace=h.workspace, name=name, timeout=WAIT_SECONDS, progress=False
    )
    assert endpoint.target == h.target and endpoint.state == "live"
    return endpoint


def _one_per_class(dataset: Dataset) -> list[Path]:
    """One image file of each class, from the dataset's folder."""
    folder = dataset.source.local_folder()
    assert folder is not None
    firsts: dict[str, Path] = {}
    for record in dataset.records:
        firsts.setdefault(record.label, folder / record.path)
    return [firsts[label] for label in sorted(firsts)]
