"""Endpoints: a real MLflow model server on 127.0.0.1, deployed once for the module.

The HTTP error mapping is tested through an injected session that answers
instead of the server (and records what was sent), the facade's own rules with
a stand-in provider, the request envelopes as pure functions.  The test that
deletes the shared endpoint comes last in the file.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import psutil
import pytest
import requests
import typer
from click.testing import Result
from PIL import Image
from typer.testing import CliRunner

from cloudml_edu import (
    ConfigError,
    Dataset,
    DatasetError,
    Endpoint,
    NotFoundError,
    Prediction,
    ServiceError,
    TimeoutError,
    Trainer,
    TrainingRun,
    Workspace,
    targets,
)
from cloudml_edu._polling import Following, Poller
from cloudml_edu.backends.local.endpoint import LocalDetails, LocalEndpointProvider
from cloudml_edu.backends.local.server import ProcessRef
from cloudml_edu.endpoint import EndpointRecord, model_uri_of
from cloudml_edu.scoring import envelope, error_message, parse_response, request_body

pytestmark = pytest.mark.xdist_group("endpoint")

CLASSES = {str(d) for d in range(10)}
MISSING_RUN = "runs:/0123456789abcdef0123456789abcdef/model"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, digits_dir: Path) -> Iterator[Endpoint]:
    """One trained model behind one live endpoint, shared by the module."""
    ws = Workspace.local(tmp_path_factory.mktemp("endpoint") / "ws")
    run = Trainer("designer", workspace=ws, progress=False).fit(Dataset.from_folder(digits_dir))
    endpoint = Endpoint.deploy(run, workspace=ws, name="digits", progress=False)
    yield endpoint
    for left in [endpoint, *Endpoint.list(ws)]:  # whatever a failed test left running
        left.delete()


@pytest.fixture(scope="module")
def held_out(digits_dir: Path) -> list[tuple[Path, str]]:
    """20 images of the test split (not trained on), with their labels."""
    _, test = Dataset.from_folder(digits_dir).split(seed=0)
    return [(digits_dir / r.path, r.label) for r in sorted(test.records, key=lambda r: r.path)[:20]]


def _check(predictions: list[Prediction], labels: list[str]) -> None:
    assert len(predictions) == len(labels)
    right = sum(p.label == label for p, label in zip(predictions, labels, strict=True))
    assert right >= 0.8 * len(labels)
    for p in predictions:
        assert set(p.scores) == CLASSES
        assert sum(p.scores.values()) == pytest.approx(1.0, abs=1e-6)
        assert p.score == max(p.scores.values()) == p.scores[p.label]


def _server_pids(argument: str) -> list[int]:
    """Processes with ``argument`` (a model URI, a port) on their command line."""
    found = psutil.process_iter(["pid", "cmdline"])
    return [proc.info["pid"] for proc in found if argument in (proc.info["cmdline"] or [])]


# ---- the live server ------------------------------------------------------------------------


def test_deploy_starts_a_live_server_and_records_it(served: Endpoint) -> None:
    assert served.state == "live"
    assert requests.get(f"{served.url}/ping", timeout=5).status_code == 200
    record = json.loads((served.workspace.endpoints_dir / "digits.json").read_text())
    details = record["details"]
    assert (record["name"], record["target"], record["owner"]) == (
        "digits",
        "local",
        served.workspace.owner,
    )
    assert record["url"] == served.url == f"http://127.0.0.1:{details['port']}"
    assert record["model_uri"] == f"runs:/{record['run_id']}/model"
    assert details["pid"] == details["processes"][0]["pid"]
    assert len(details["processes"]) == 2  # mlflow and its uvicorn
    assert "Uvicorn running" in Path(details["log_path"]).read_text()


def test_predict_by_path_bytes_and_pil_image(
    served: Endpoint, held_out: list[tuple[Path, str]]
) -> None:
    paths = [path for path, _ in held_out]
    labels = [label for _, label in held_out]
    by_path = served.predict(paths)
    _check(by_path, labels)
    by_str = served.predict([str(p) for p in paths])
    by_bytes = served.predict([p.read_bytes() for p in paths])
    assert by_str == by_bytes == by_path
    pil_images = [Image.open(p) for p in paths]
    _check(served.predict(pil_images), labels)


def test_predict_takes_one_image_or_none(
    served: Endpoint, held_out: list[tuple[Path, str]]
) -> None:
    path, label = held_out[0]
    assert served.predict(path) == served.predict([path])
    assert served.predict(Image.open(path))[0].label == label
    assert served.predict([]) == []


def test_predict_batch_matches_predict(served: Endpoint, held_out: list[tuple[Path, str]]) -> None:
    paths = [path for path, _ in held_out]
    assert served.predict_batch(paths, batch_size=7, progress=False) == served.predict(paths)
    with pytest.raises(ConfigError, match="batch_size"):
        served.predict_batch(paths, batch_size=0)


def test_corrupt_image_is_rejected_naming_the_cause(served: Endpoint) -> None:
    with pytest.raises(  # a 4xx: the request itself is wrong (cloudml_edu._http's one table)
        ConfigError,
        match=r"rejected the request \(HTTP 400: ValueError: an input is not a readable image",
    ):
        served.predict(b"these bytes are not an image")


def test_missing_files_raise_before_anything_is_sent(
    canned: tuple[Endpoint, Canned], tmp_path: Path
) -> None:
    endpoint, adapter = canned  # no reply is canned: a request would fail
    with pytest.raises(DatasetError, match="2 image file") as info:
        endpoint.predict([tmp_path / "nope.png", tmp_path])
    assert info.value.bad_files == [str(tmp_path / "nope.png"), str(tmp_path)]
    with pytest.raises(DatasetError):
        endpoint.predict_batch([tmp_path / "late.png"], batch_size=1)
    assert adapter.sent == []


def test_one_unreadable_file_among_many_is_named(
    canned: tuple[Endpoint, Canned],
    held_out: list[tuple[Path, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, adapter = canned
    paths = [path for path, _ in held_out[:5]]
    locked = paths[3]
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:  # tests run as root, where chmod 000 would not stop a read
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(DatasetError, match=rf"cannot read {re.escape(str(locked))} \(Permission"):
        endpoint.predict(paths)
    with pytest.raises(DatasetError) as info:
        endpoint.predict(paths)
    assert info.value.bad_files == [str(locked)]
    assert adapter.sent == []


def test_get_and_list(served: Endpoint) -> None:
    found = Endpoint.get(served.workspace, "digits")
    assert (found.url, found.model_uri, found.state) == (served.url, served.model_uri, "live")
    assert [(e.name, e.state) for e in Endpoint.list(served.workspace)] == [("digits", "live")]
    with pytest.raises(NotFoundError, match=r"no endpoint 'digitz'.*endpoints: digits"):
        Endpoint.get(served.workspace, "digitz")


def test_a_second_process_can_get_and_use_the_endpoint(
    served: Endpoint, held_out: list[tuple[Path, str]]
) -> None:
    path, label = held_out[0]
    script = (
        "import sys\n"
        "from cloudml_edu import Endpoint, Workspace\n"
        "ep = Endpoint.get(Workspace.local(sys.argv[1]), 'digits')\n"
        "print(ep.state, ep.predict(sys.argv[2])[0].label)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(served.workspace.root), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["live", label]


def test_the_served_model_runs_only_its_shipped_code(served: Endpoint) -> None:
    """Loaded in a fresh interpreter, every cloudml_edu module comes from the model's code/."""
    script = (
        "import sys, mlflow\n"
        "mlflow.set_tracking_uri(sys.argv[1])\n"
        "model = mlflow.pyfunc.load_model(sys.argv[2])\n"
        "print('\\n'.join(sorted(f'{k} {m.__file__}' for k, m in sys.modules.items()\n"
        "                          if k.split('.')[0] == 'cloudml_edu')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, served.workspace.tracking_uri, served.model_uri],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"},
    )
    loaded = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert "cloudml_edu.training.served" in loaded
    assert all("/code/cloudml_edu/" in path for path in loaded.values()), loaded


def test_the_shipped_modules_import_only_each_other() -> None:
    """Every cloudml_edu import in a shipped file (function-level too) is shipped as well."""
    import ast

    import cloudml_edu
    from cloudml_edu.training.pyfunc import SHIPPED

    library = Path(cloudml_edu.__file__).parent
    shipped = {"cloudml_edu." + name.removesuffix(".py").replace("/", ".") for name in SHIPPED}
    packages = {"cloudml_edu", "cloudml_edu.training"}
    for name in SHIPPED:
        tree = ast.parse((library / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cloudml_edu"):
                assert node.module in shipped | packages, f"{name} imports {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("cloudml_edu") or alias.name in shipped, (
                        f"{name} imports {alias.name}"
                    )


def test_a_live_name_cannot_be_reused(served: Endpoint) -> None:
    with pytest.raises(ConfigError, match=r"already running.*delete it.*replace=True"):
        Endpoint.deploy(served.model_uri, workspace=served.workspace, name="digits")


@pytest.mark.parametrize("name", ["ab", "Digits", "1digits", "digits-", "a_b", "../x", "x" * 33])
def test_invalid_names_are_config_errors(name: str, tmp_path: Path) -> None:
    ws = Workspace.local(tmp_path)
    with pytest.raises(ConfigError, match="invalid endpoint name"):
        Endpoint.deploy(MISSING_RUN, workspace=ws, name=name)
    with pytest.raises(ConfigError, match="invalid endpoint name"):
        Endpoint.get(ws, name)


def test_a_model_the_server_cannot_load_fails_with_the_log_and_leaves_no_process(
    served: Endpoint, tmp_path: Path
) -> None:
    folder = tmp_path / "not-a-pyfunc"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    with pytest.raises(ServiceError, match=r"exited \(code 1\)") as info:
        Endpoint.deploy(folder, workspace=served.workspace, name="broken", progress=False)
    assert "No suitable flavor backend" in str(info.value)  # the reason, from its log
    assert "broken.log" in str(info.value)
    assert _server_pids(str(folder.resolve())) == []
    assert not (served.workspace.endpoints_dir / "broken.json").exists()


def test_a_missing_run_fails_before_any_server_starts(served: Endpoint) -> None:
    with pytest.raises(NotFoundError, match=r"run 0123456789abcdef0123456789abcdef.*runs"):
        Endpoint.deploy(MISSING_RUN, workspace=served.workspace, name="missing")
    assert _server_pids(MISSING_RUN) == []
    assert not (served.workspace.endpoints_dir / "missing.log").exists()


def test_a_server_not_ready_in_time_is_stopped(served: Endpoint) -> None:
    with pytest.raises(TimeoutError, match=r"not ready after 0.5 s and was stopped") as info:
        Endpoint.deploy(
            served.model_uri, workspace=served.workspace, name="slow", timeout=0.5, progress=False
        )
    port = re.search(r"http://127\.0\.0\.1:(\d+)", str(info.value))
    assert port is not None
    assert _server_pids(port.group(1)) == []
    assert not (served.workspace.endpoints_dir / "slow.json").exists()


# ---- records of servers that are gone -------------------------------------------------------


def test_a_reused_pid_is_not_mistaken_for_the_server(workspace: Workspace) -> None:
    """A record whose pid exists (this test process) but started at another time: pid reuse."""
    details = LocalDetails(
        pid=os.getpid(),
        port=9,
        log_path=str(workspace.endpoints_dir / "stale.log"),
        processes=[ProcessRef(pid=os.getpid(), started=1.0)],
    )
    record = EndpointRecord(
        name="stale",
        model_uri=MISSING_RUN,
        url="http://127.0.0.1:9",
        created=datetime(2026, 1, 1, tzinfo=UTC),
        details=details.model_dump(mode="json"),
    )
    assert LocalEndpointProvider(workspace).state(record) == "dead"
    endpoint = Endpoint(record, workspace=workspace)
    assert endpoint.state is None  # not asked yet: reading the state sends nothing
    assert endpoint.refresh().state == "dead"
    with endpoint:  # the context manager deletes; this process must survive it
        pass
    endpoint.delete()  # already gone: fine


def test_an_unreadable_record_says_what_to_do(workspace: Workspace) -> None:
    (workspace.endpoints_dir / "junk.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"junk.json is unreadable.*delete the file"):
        Endpoint.get(workspace, "junk")


# ---- pure functions: model URIs, envelopes, responses --------------------------------------


def test_model_uri_of_run_ids_uris_and_folders(tmp_path: Path) -> None:
    run_id = "0123456789abcdef0123456789abcdef"
    assert model_uri_of(run_id) == (f"runs:/{run_id}/model", run_id)
    assert model_uri_of(f"runs:/{run_id}/other") == (f"runs:/{run_id}/other", run_id)
    assert model_uri_of("models:/digits/3") == ("models:/digits/3", None)
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    assert model_uri_of(tmp_path) == (str(tmp_path.resolve()), None)
    with pytest.raises(ConfigError, match="not a run id, a model URI"):
        model_uri_of("my-model")


def test_the_three_envelopes_exactly() -> None:
    rows = [["aGk="], ["eW8="]]
    split = {"dataframe_split": {"columns": ["image"], "data": [["aGk="], ["eW8="]]}}
    assert envelope(rows, target="local") == split
    assert envelope(rows, target="databricks") == split
    assert envelope(rows, target="azureml") == {
        "input_data": {"columns": ["image"], "index": [0, 1], "data": [["aGk="], ["eW8="]]}
    }


def test_request_body_encodes_each_kind_of_image(tmp_path: Path) -> None:
    image = Image.new("L", (4, 4), 255)
    path = tmp_path / "white.png"
    image.save(path)
    png = path.read_bytes()
    body = request_body([path, str(path), png, image])
    data = [base64.b64decode(row[0]) for row in body["dataframe_split"]["data"]]
    assert data[:3] == [png, png, png]
    assert Image.open(io.BytesIO(data[3])).getpixel((0, 0)) == 255
    assert request_body(png) == request_body([png])
    with pytest.raises(TypeError, match="cannot send int"):
        request_body([3])  # type: ignore[list-item]


def test_parse_response_reads_mlflow_and_azure_shapes() -> None:
    row = {"label": "7", "score": 0.75, "p:1": 0.25, "p:7": 0.75}
    expected = [Prediction(label="7", score=0.75, scores={"1": 0.25, "7": 0.75})]
    assert parse_response({"predictions": [row]}) == expected
    assert parse_response([row]) == expected
    with pytest.raises(ServiceError, match="no list of predictions"):
        parse_response({"outputs": []})
    with pytest.raises(ServiceError, match="label, score and p:<class>"):
        parse_response({"predictions": [{"score": 1.0}]})


def test_error_message_prefers_the_models_exception() -> None:
    body = {"message": "unexpected error", "stack_trace": "Traceback...\n  ...\nValueError: bad\n"}
    assert error_message(400, json.dumps(body)) == "HTTP 400: ValueError: bad"
    assert error_message(500, json.dumps({"message": "boom"})) == "HTTP 500: boom"
    assert error_message(502, "<html>Bad Gateway</html>") == "HTTP 502: <html>Bad Gateway</html>"


# ---- the facade's own rules, with a stand-in provider ---------------------------------------


class _StandInStart(Following[EndpointRecord]):
    """A stand-in deploy: live at the first look, unless it is told to fail."""

    terminal = ("live",)
    poll_interval = 0.001

    def __init__(self, failure: BaseException | None) -> None:
        self.failure = failure

    def refresh(self, record: EndpointRecord, /) -> EndpointRecord:
        if self.failure is not None:
            raise self.failure
        return record.model_copy(update={"details": {"ready": True}})

    def status_of(self, record: EndpointRecord, /) -> str:
        return "live" if record.details else "creating"

    def describe(self, record: EndpointRecord, elapsed: float, /) -> str:
        return f"deploying {record.name}"


class StandIn:
    """A provider that serves nothing: it records what the facade asks of it."""

    target = "local"
    calls: ClassVar[list[tuple[str, object]]] = []
    gate: ClassVar[threading.Event | None] = None  # when set, begin_deploy waits on it
    entered = threading.Event()
    fail_with: ClassVar[BaseException | None] = None
    states: ClassVar[list[str]] = []  # what ``state`` answers next (then "live")
    poll_interval = poll_max_interval = 0.001

    def __init__(self, workspace: Workspace, *, session: requests.Session | None = None) -> None:
        self.workspace = workspace
        self.calls.append(("init", session))

    def begin_deploy(
        self, *, name: str, model_uri: str, run: TrainingRun | None, progress: bool | None
    ) -> Poller[EndpointRecord]:
        self.calls.append(("begin_deploy", (name, model_uri, run.id if run else None)))
        StandIn.entered.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=30)
        record = EndpointRecord(
            name=name,
            model_uri=model_uri,
            run_id=run.id if run else None,
            url=f"http://stand-in/{name}",
            created=datetime.now(UTC),
        )
        return Poller(record, _StandInStart(self.fail_with))

    def state(self, record: EndpointRecord) -> str:
        self.calls.append(("state", record.name))
        return self.states.pop(0) if self.states else "live"

    def invoke(self, record: EndpointRecord, images: list[str], *, timeout: float) -> object:
        self.calls.append(("invoke", (images, timeout)))
        row = {"label": "a", "score": 1.0, "p:a": 1.0}
        return {"predictions": [row] * len(images)}

    def delete(self, record: EndpointRecord, *, timeout: float) -> None:
        self.calls.append(("delete", record.name))


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> type[StandIn]:
    """``local`` endpoints served by :class:`StandIn` for the test."""
    local = replace(targets.get_target("local"), endpoint_provider=f"{__name__}:StandIn")
    monkeypatch.setitem(targets._known(), "local", local)
    monkeypatch.setattr(StandIn, "calls", [])
    monkeypatch.setattr(StandIn, "gate", None)
    monkeypatch.setattr(StandIn, "fail_with", None)
    monkeypatch.setattr(StandIn, "states", [])
    StandIn.entered.clear()
    return StandIn


def _model_folder(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    return tmp_path / "model"


def test_the_state_is_as_last_seen_and_only_refresh_asks(
    stand_in: type[StandIn], workspace: Workspace, tmp_path: Path
) -> None:
    ep = Endpoint.deploy(_model_folder(tmp_path), workspace=workspace, name="slow", progress=False)
    stand_in.states = ["creating", "creating", "creating"]  # what the service says from now on
    assert ep.state == "live" and "live" in ep._repr_html_()
    assert (
        "state",
        "slow",
    ) not in stand_in.calls  # reading the state, or showing it, asked nothing
    assert ep.refresh().state == "creating" and stand_in.states == ["creating", "creating"]
    assert ep.wait(timeout=5).state == "live" and stand_in.states == []
    assert Endpoint.get(workspace, "slow").state == "live"  # get asks once
    stand_in.states = ["failed"]
    with pytest.raises(ServiceError, match=r"endpoint 'slow' \(local\) is failed"):
        ep.refresh().wait(timeout=5)
    assert str(ep.state) == "failed"  # (mypy keeps the "live" narrowed above)


def test_the_facade_records_and_routes_through_the_provider(
    stand_in: type[StandIn], workspace: Workspace, tmp_path: Path
) -> None:
    folder = _model_folder(tmp_path)
    session = requests.Session()
    endpoint = Endpoint.deploy(folder, workspace=workspace, name="routed", session=session)
    saved = json.loads((workspace.endpoints_dir / "routed.json").read_text())
    assert (saved["target"], saved["model_uri"], saved["details"]) == (
        "local",
        str(folder.resolve()),
        {"ready": True},
    )
    assert (
        endpoint.predict([b"x", b"yy"], timeout=4)
        == [Prediction(label="a", score=1.0, scores={"a": 1.0})] * 2
    )
    again = Endpoint.get(workspace, "routed", session=session)
    again.delete()
    assert stand_in.calls == [
        ("init", session),
        ("begin_deploy", ("routed", str(folder.resolve()), None)),
        ("invoke", ([base64.b64encode(b"x").decode(), base64.b64encode(b"yy").decode()], 4.0)),
        ("init", session),
        ("state", "routed"),  # get asks for the state once
        ("delete", "routed"),
    ]
    assert Endpoint.list(workspace) == []


def test_two_deploys_of_one_name_at_once_cannot_both_succeed(
    stand_in: type[StandIn], workspace: Workspace, tmp_path: Path
) -> None:
    folder = _model_folder(tmp_path)
    stand_in.gate = threading.Event()
    first: list[Endpoint] = []
    worker = threading.Thread(
        target=lambda: first.append(Endpoint.deploy(folder, workspace=workspace, name="twice"))
    )
    worker.start()
    try:
        assert stand_in.entered.wait(timeout=30)  # the first deploy holds the name
        with pytest.raises(ConfigError, match=r"'twice' is being deployed.*holds .*twice.lock"):
            Endpoint.deploy(folder, workspace=workspace, name="twice")
    finally:
        stand_in.gate.set()
        worker.join(timeout=30)
    assert [e.name for e in first] == ["twice"]
    with pytest.raises(ConfigError, match="already running"):  # and now it is live
        Endpoint.deploy(folder, workspace=workspace, name="twice")


def test_a_failed_deploy_is_deleted_and_not_recorded(
    stand_in: type[StandIn], workspace: Workspace, tmp_path: Path
) -> None:
    folder = _model_folder(tmp_path)
    stand_in.fail_with = ServiceError("the service gave up")
    with pytest.raises(ServiceError, match="gave up"):
        Endpoint.deploy(folder, workspace=workspace, name="doomed")
    assert stand_in.calls[-1] == ("delete", "doomed")
    assert Endpoint.list(workspace) == []
    stand_in.fail_with = None
    assert Endpoint.deploy(folder, workspace=workspace, name="doomed").state == "live"  # name free


def test_runs_that_did_not_complete_are_refused_before_anything_starts(
    stand_in: type[StandIn], workspace: Workspace
) -> None:
    failed = TrainingRun(id="f" * 32, backend="sdk", status="Failed", error="out of memory")
    with pytest.raises(ConfigError, match=r"run f{32} \(sdk\) failed \(out of memory\)"):
        Endpoint.deploy(failed, workspace=workspace, name="failed")
    running = TrainingRun(id="e" * 32, backend="sdk", status="Running")
    with pytest.raises(ConfigError, match=r"still Running; wait for it"):
        Endpoint.deploy(running, workspace=workspace, name="running")
    with pytest.raises(NotFoundError, match="list runs"):
        Endpoint.deploy(MISSING_RUN, workspace=workspace, name="missing")
    assert stand_in.calls == []


def test_the_target_defaults_to_the_runs_own(
    stand_in: type[StandIn], workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_azure = TrainingRun(
        id="a" * 32, backend="sdk", target="azureml", status="Completed", model="runs:/a/m"
    )
    azureml = replace(targets.get_target("azureml"), endpoint_provider=None)
    monkeypatch.setitem(targets._known(), "azureml", azureml)
    with pytest.raises(ConfigError, match="endpoints on azureml are not available"):
        Endpoint.deploy(on_azure, workspace=workspace, name="cloudy")
    run = TrainingRun(
        id="d" * 32, backend="automl", target="databricks", status="Completed", model="runs:/d/m"
    )
    with pytest.raises(ConfigError, match=r"\[databricks\] section.*cloudml-edu\[databricks\]"):
        Endpoint.deploy(run, workspace=workspace, name="cloudy")
    Endpoint.deploy(run, workspace=workspace, name="cloudy", target="local")
    assert stand_in.calls[1] == ("begin_deploy", ("cloudy", "runs:/d/m", "d" * 32))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": 7}, "invalid endpoint name 7"),
        ({"target": "aws"}, "unknown target 'aws'; choose one of: local, azureml, databricks"),
        ({"timeout": "10"}, "timeout must be a positive number of seconds, got '10'"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"timeout": True}, "timeout must be a positive number"),
        ({"replace": "yes"}, "replace must be True or False"),
        ({"progress": 1}, "progress must be True, False or None"),
        ({"session": "http://x"}, "session must be a requests.Session"),
    ],
)
def test_deploy_checks_its_arguments_at_the_door(
    stand_in: type[StandIn],
    workspace: Workspace,
    tmp_path: Path,
    arguments: dict[str, object],
    message: str,
) -> None:
    chosen: dict[str, Any] = {"name": "checked", **arguments}
    with pytest.raises(ConfigError, match=re.escape(message)):
        Endpoint.deploy(_model_folder(tmp_path), workspace=workspace, **chosen)
    with pytest.raises(ConfigError, match="model must be a TrainingRun"):
        Endpoint.deploy(42, workspace=workspace, name="checked")  # type: ignore[arg-type]
    assert stand_in.calls == []


@pytest.mark.parametrize("batch_size", [0, 1.5, True, "8"])
def test_predict_batch_checks_batch_size(
    stand_in: type[StandIn], workspace: Workspace, tmp_path: Path, batch_size: object
) -> None:
    endpoint = Endpoint.deploy(_model_folder(tmp_path), workspace=workspace, name="batched")
    with pytest.raises(ConfigError, match="batch_size must be a whole number of at least 1"):
        endpoint.predict_batch([b"x"], batch_size=batch_size)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="timeout must be a positive number"):
        endpoint.predict([b"x"], timeout=-1)


# ---- HTTP errors, through an injected session ----------------------------------------------


class Canned(requests.adapters.BaseAdapter):
    """A transport that records each request and answers with the next canned reply."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []
        self.replies: list[Exception | tuple[int, bytes]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        response = requests.Response()
        response.status_code, response._content = reply
        response.request, response.url = request, request.url or ""
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def canned(served: Endpoint) -> Iterator[tuple[Endpoint, Canned]]:
    """The shared endpoint, found again with a session that answers instead of its server."""
    adapter = Canned()
    with requests.Session() as session:
        session.mount("http://", adapter)
        yield Endpoint.get(served.workspace, "digits", session=session), adapter


def _sent_images(adapter: Canned) -> list[bytes]:
    body = json.loads(adapter.sent[-1].body or b"")
    assert body["dataframe_split"]["columns"] == ["image"]
    return [base64.b64decode(row[0]) for row in body["dataframe_split"]["data"]]


def test_the_injected_session_carries_the_request(canned: tuple[Endpoint, Canned]) -> None:
    endpoint, adapter = canned
    row = {"label": "7", "score": 0.75, "p:1": 0.25, "p:7": 0.75}
    adapter.replies.append((200, json.dumps({"predictions": [row, row]}).encode()))
    found = endpoint.predict([b"first", b"second"], timeout=7)
    assert [p.label for p in found] == ["7", "7"]
    [request] = adapter.sent
    assert (request.method, request.url) == ("POST", f"{endpoint.url}/invocations")
    assert request.headers["Content-Type"] == "application/json"
    assert _sent_images(adapter) == [b"first", b"second"]


def test_http_500_is_a_service_error_with_the_message(canned: tuple[Endpoint, Canned]) -> None:
    endpoint, adapter = canned
    adapter.replies.append((500, b'{"message": "model crashed"}'))
    with pytest.raises(ServiceError, match=r"failed \(HTTP 500: model crashed\); the server's log"):
        endpoint.predict(b"png")
    assert _sent_images(adapter) == [b"png"]


def test_a_dead_server_says_to_redeploy(canned: tuple[Endpoint, Canned]) -> None:
    endpoint, adapter = canned
    adapter.replies.append(requests.ConnectionError("refused"))
    with pytest.raises(ServiceError, match=r"not answering; its server has stopped.*--replace"):
        endpoint.predict(b"png")


def test_a_slow_server_is_a_timeout(canned: tuple[Endpoint, Canned]) -> None:
    endpoint, adapter = canned
    adapter.replies.append(requests.ReadTimeout("slow"))
    with pytest.raises(TimeoutError, match="did not answer within 3 s"):
        endpoint.predict(b"png", timeout=3)


def test_a_wrong_count_or_non_json_answer_is_a_service_error(
    canned: tuple[Endpoint, Canned],
) -> None:
    endpoint, adapter = canned
    adapter.replies += [(200, b'{"predictions": []}'), (200, b"<html>")]
    with pytest.raises(ServiceError, match="returned 0 predictions for 1 images"):
        endpoint.predict(b"png")
    with pytest.raises(ServiceError, match="not JSON"):
        endpoint.predict(b"png")


def test_auth_throttling_and_missing_answers_have_their_own_errors(
    canned: tuple[Endpoint, Canned],
) -> None:
    from cloudml_edu import AuthError, ThrottledError

    endpoint, adapter = canned
    adapter.replies += [(401, b"{}"), (429, b"{}"), (404, b"{}")]
    with pytest.raises(AuthError, match="refused the credentials"):
        endpoint.predict(b"png")
    with pytest.raises(ThrottledError, match="throttling"):
        endpoint.predict(b"png")
    with pytest.raises(NotFoundError, match=r"nothing at http://127.*/invocations.*redeploy it"):
        endpoint.predict(b"png")


# ---- the command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(served: Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Result]:
    """Run the endpoint commands, as the lead mounts them, against the served workspace."""
    from cloudml_edu.cli.endpoint import deploy_command, endpoint_app, predict_command

    app = typer.Typer()
    app.command("deploy")(deploy_command)
    app.command("predict")(predict_command)
    app.add_typer(endpoint_app, name="endpoint")
    config = tmp_path_factory.mktemp("cli") / "cloudml.toml"
    config.write_text(f'root = "{served.workspace.root}"\n')

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, [*args, "--config", str(config)])

    return run


def test_cli_predict_prints_a_table_or_json(
    cli: Callable[..., Result], held_out: list[tuple[Path, str]]
) -> None:
    paths = [str(path) for path, _ in held_out[:2]]
    result = cli("predict", "digits", *paths, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert [row["image"] for row in found] == paths
    assert set(found[0]) == {"image", "label", "score", "scores"}
    table = cli("predict", "digits", *paths)
    assert table.exit_code == 0 and held_out[0][1] in table.stdout


def test_cli_endpoint_list(cli: Callable[..., Result], served: Endpoint) -> None:
    result = cli("endpoint", "list", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert (row["name"], row["state"], row["url"]) == ("digits", "live", served.url)
    assert "live" in cli("endpoint", "list").stdout


def test_cli_errors_are_one_line_with_exit_code_1(
    cli: Callable[..., Result], served: Endpoint, tmp_path: Path
) -> None:
    taken = cli("deploy", served.model_uri, "--name", "digits")
    assert taken.exit_code == 1
    assert "ConfigError: endpoint 'digits' is already running" in taken.stderr
    unknown = cli("deploy", MISSING_RUN, "--name", "other")
    assert (
        unknown.exit_code == 1
        and "NotFoundError: no training run 0123456789abcdef" in unknown.stderr
    )
    elsewhere = cli("deploy", served.model_uri, "--name", "other", "--target", "aws")
    assert elsewhere.exit_code == 1 and "ConfigError: unknown --target 'aws'" in elsewhere.stderr
    missing = cli("predict", "digits", str(tmp_path / "nope.png"))
    assert missing.exit_code == 1 and "DatasetError: 1 image file(s) not found" in missing.stderr
    gone = cli("endpoint", "delete", "nothing-here")
    assert gone.exit_code == 0 and "nothing to delete" in gone.stdout


def test_workspace_from_option_prefers_config_then_cloudml_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu.cli._common import workspace_from_option

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLOUDML_CONFIG", raising=False)
    assert workspace_from_option(None).root == tmp_path / ".cloudml"
    (tmp_path / "cloudml.toml").write_text('root = "from-toml"\n')
    assert workspace_from_option(None).root == tmp_path / "from-toml"
    other = tmp_path / "other.toml"
    other.write_text('root = "from-option"\n')
    assert workspace_from_option(other).root == tmp_path / "from-option"


def test_importing_the_endpoint_module_loads_no_heavy_library() -> None:
    script = (
        "import sys, cloudml_edu.endpoint\n"
        "heavy = ('mlflow', 'requests', 'psutil', 'PIL', 'rich')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# ---- last: replace, then delete, the shared endpoint -------------------------------------


def test_replace_then_delete_stop_the_servers_and_close_their_ports(
    served: Endpoint, cli: Callable[..., Result]
) -> None:
    old = served.record
    new = Endpoint.deploy(
        served.model_uri, workspace=served.workspace, name="digits", replace=True, progress=False
    )
    _assert_stopped(old)
    assert new.state == "live" and Endpoint.get(served.workspace, "digits").url == new.url
    result = cli("endpoint", "delete", "digits")
    assert result.exit_code == 0 and "endpoint digits deleted" in result.stdout
    _assert_stopped(new.record)
    assert new.refresh().state == "dead" and Endpoint.list(served.workspace) == []
    new.delete()  # already gone: fine
    with pytest.raises(ServiceError, match="redeploy it"):
        new.predict(b"png")


def _assert_stopped(record: EndpointRecord) -> None:
    details = LocalDetails.model_validate(record.details)
    assert not any(psutil.pid_exists(ref.pid) for ref in details.processes)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", details.port)) != 0
