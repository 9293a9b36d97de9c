"""Endpoints: a real MLflow model server on 127.0.0.1, deployed once for the module.

The HTTP error mapping and the request envelopes are tested without a server
(``responses`` and pure functions).  The test that deletes the shared endpoint
comes last in the file.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
import requests
import responses
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
    Workspace,
)
from cloudml_edu.backends.local.serving import (
    ProcessRef,
    envelope,
    error_message,
    parse_response,
    request_body,
)
from cloudml_edu.endpoint import EndpointRecord, model_uri_of

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
    assert record["url"] == served.url == f"http://127.0.0.1:{record['port']}"
    assert record["model_uri"] == f"runs:/{record['run_id']}/model"
    assert record["pgid"] == record["pid"] == record["processes"][0]["pid"]
    assert len(record["processes"]) == 2  # mlflow and its uvicorn
    assert "Uvicorn running" in served.log_path.read_text()


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


def test_corrupt_image_is_a_service_error_naming_the_cause(served: Endpoint) -> None:
    with pytest.raises(
        ServiceError, match=r"HTTP 400: ValueError: an input is not a readable image"
    ):
        served.predict(b"these bytes are not an image")


def test_missing_files_raise_before_anything_is_sent(served: Endpoint, tmp_path: Path) -> None:
    with responses.RequestsMock() as mock:  # any request would fail: none is registered
        with pytest.raises(DatasetError, match="2 image file") as info:
            served.predict([tmp_path / "nope.png", tmp_path])
        assert info.value.bad_files == [str(tmp_path / "nope.png"), str(tmp_path)]
        with pytest.raises(DatasetError):
            served.predict_batch([tmp_path / "late.png"], batch_size=1)
        assert not mock.calls


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


def test_a_bad_model_uri_fails_with_the_log_and_leaves_no_process(served: Endpoint) -> None:
    with pytest.raises(ServiceError, match=r"exited \(code 1\)") as info:
        Endpoint.deploy(MISSING_RUN, workspace=served.workspace, name="broken", progress=False)
    assert "Run with id=0123456789abcdef0123456789abcdef not found" in str(info.value)
    assert "broken.log" in str(info.value)
    assert _server_pids(MISSING_RUN) == []
    assert not (served.workspace.endpoints_dir / "broken.json").exists()


def test_a_server_not_ready_in_time_is_stopped(served: Endpoint) -> None:
    with pytest.raises(TimeoutError, match=r"not ready after 0.5 s and was stopped") as info:
        Endpoint.deploy(
            served.model_uri, workspace=served.workspace, name="slow", timeout=0.5, progress=False
        )
    port = str(info.value).split(" -p ")[1].split()[0]
    assert _server_pids(port) == []
    assert not (served.workspace.endpoints_dir / "slow.json").exists()


# ---- records of servers that are gone -------------------------------------------------------


def _stale_record(ws: Workspace, name: str) -> Path:
    """A record whose pid exists (this test process) but started at another time: pid reuse."""
    record = EndpointRecord(
        name=name,
        model_uri=MISSING_RUN,
        run_id=None,
        pid=os.getpid(),
        pgid=os.getpgid(os.getpid()),
        port=9,
        url="http://127.0.0.1:9",
        created=datetime(2026, 1, 1, tzinfo=UTC),
        log_path=str(ws.endpoints_dir / f"{name}.log"),
        processes=[ProcessRef(pid=os.getpid(), started=1.0)],
    )
    path = ws.endpoints_dir / f"{name}.json"
    path.write_text(record.model_dump_json())
    return path


def test_a_reused_pid_is_not_mistaken_for_the_server(workspace: Workspace) -> None:
    path = _stale_record(workspace, "stale")
    endpoint = Endpoint.get(workspace, "stale")
    assert endpoint.state == "dead"
    assert [(e.name, e.state) for e in Endpoint.list(workspace)] == [("stale", "dead")]
    with endpoint:  # the context manager deletes; this process must survive it
        pass
    assert not path.exists()
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


# ---- HTTP errors, with responses ---------------------------------------------------------


@pytest.fixture
def offline(workspace: Workspace) -> Endpoint:
    """An endpoint whose URL only ``responses`` answers."""
    _stale_record(workspace, "offline")
    return Endpoint.get(workspace, "offline")


@responses.activate
def test_http_500_is_a_service_error_with_the_message(offline: Endpoint) -> None:
    responses.post(f"{offline.url}/invocations", json={"message": "model crashed"}, status=500)
    with pytest.raises(ServiceError, match=r"failed \(HTTP 500: model crashed\); the server's log"):
        offline.predict(b"png")


@responses.activate
def test_a_dead_server_says_to_redeploy(offline: Endpoint) -> None:
    responses.post(f"{offline.url}/invocations", body=requests.ConnectionError("refused"))
    with pytest.raises(ServiceError, match=r"not answering; its server has stopped.*--replace"):
        offline.predict(b"png")


@responses.activate
def test_a_slow_server_is_a_timeout(offline: Endpoint) -> None:
    responses.post(f"{offline.url}/invocations", body=requests.ReadTimeout("slow"))
    with pytest.raises(TimeoutError, match="did not answer within 3 s"):
        offline.predict(b"png", timeout=3)


@responses.activate
def test_a_wrong_count_or_non_json_answer_is_a_service_error(offline: Endpoint) -> None:
    responses.post(f"{offline.url}/invocations", json={"predictions": []})
    with pytest.raises(ServiceError, match="returned 0 predictions for 1 images"):
        offline.predict(b"png")
    responses.post(f"{offline.url}/invocations", body="<html>")
    with pytest.raises(ServiceError, match="not JSON"):
        offline.predict(b"png")


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
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    taken = cli("deploy", MISSING_RUN, "--name", "digits")
    assert taken.exit_code == 1
    assert "ConfigError: endpoint 'digits' is already running" in taken.stderr
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
    assert new.state == "dead" and Endpoint.list(served.workspace) == []
    new.delete()  # already gone: fine
    with pytest.raises(ServiceError, match="redeploy it"):
        new.predict(b"png")


def _assert_stopped(record: EndpointRecord) -> None:
    assert not any(psutil.pid_exists(ref.pid) for ref in record.processes)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", record.port)) != 0
