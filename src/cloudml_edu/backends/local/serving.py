"""The local model server (``mlflow models serve``) and the wire format of every endpoint.

Two halves:

* the request and response format, as pure functions: :func:`request_body`
  encodes images as the model expects them (base64 in a column ``image``) and
  wraps the rows in the envelope of the target (:func:`envelope`);
  :func:`parse_response` turns the answer into :class:`Prediction` objects;
  :func:`post_json` maps HTTP failures to cloudml-edu errors;
* the server process: :func:`start_server` runs the MLflow model server in its
  own session (so it outlives the caller), :func:`wait_ready` polls ``/ping``,
  :func:`stop` ends it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

from cloudml_edu._progress import status_line
from cloudml_edu.errors import ConfigError, DatasetError, ServiceError, TimeoutError

if TYPE_CHECKING:
    import psutil  # type: ignore[import-untyped, unused-ignore]
    import requests
    from PIL.Image import Image

__all__ = [
    "HOST",
    "ImageInput",
    "Images",
    "Prediction",
    "ProcessRef",
    "Target",
    "abort",
    "as_list",
    "check_paths",
    "encode_image",
    "envelope",
    "error_message",
    "free_port",
    "live_processes",
    "log_tail",
    "parse_response",
    "post_json",
    "request_body",
    "server_processes",
    "start_server",
    "stop",
    "wait_ready",
]

HOST = "127.0.0.1"
INPUT_COLUMN = "image"  # the column the pyfunc model reads (cloudml_edu.training.pyfunc)
PROBA_PREFIX = "p:"

Target: TypeAlias = Literal["local", "azureml", "databricks"]
ImageInput: TypeAlias = "str | os.PathLike[str] | bytes | Image"
Images: TypeAlias = "ImageInput | Iterable[ImageInput]"


class Prediction(BaseModel):
    """One image's answer: the predicted ``label``, its probability and every class's."""

    model_config = ConfigDict(frozen=True)

    label: str
    score: float
    scores: dict[str, float]


# ---- request and response ------------------------------------------------------------


def as_list(images: Images) -> list[ImageInput]:
    """One image (path, bytes or PIL image) or many, as a list."""
    if isinstance(images, str | bytes | os.PathLike) or not isinstance(images, Iterable):
        return [images]
    return list(images)


def encode_image(image: ImageInput) -> str:
    """Base64 of an encoded image: bytes as given, a file's content, or a PIL image as PNG."""
    if isinstance(image, bytes):
        data = image
    elif isinstance(image, str | os.PathLike):
        try:
            data = Path(image).read_bytes()
        except OSError as exc:
            raise DatasetError(
                f"cannot read {image} ({exc.strerror}); check the file", bad_files=[str(image)]
            ) from exc
    else:
        from PIL.Image import Image

        if not isinstance(image, Image):
            raise TypeError(
                f"cannot send {type(image).__name__}: pass image file paths, bytes or PIL images"
            )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
    return base64.b64encode(data).decode("ascii")


def check_paths(images: Sequence[ImageInput]) -> None:
    """Raise DatasetError naming every path among ``images`` that is not a file."""
    bad = [str(i) for i in images if isinstance(i, str | os.PathLike) and not Path(i).is_file()]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DatasetError(
            f"{len(bad)} image file(s) not found (or not files): {shown}; check the paths",
            bad_files=bad,
        )


def envelope(rows: list[list[str]], *, target: Target = "local") -> dict[str, Any]:
    """Wrap rows of the ``image`` column the way ``target`` expects them.

    The MLflow server and Databricks Model Serving read ``dataframe_split``;
    Azure ML online endpoints read MLflow models' input under ``input_data``,
    split orientation with an index.
    """
    if target == "azureml":
        split = {"columns": [INPUT_COLUMN], "index": list(range(len(rows))), "data": rows}
        return {"input_data": split}
    return {"dataframe_split": {"columns": [INPUT_COLUMN], "data": rows}}


def request_body(images: Images, *, target: Target = "local") -> dict[str, Any]:
    """The JSON body asking ``target`` to classify ``images``; missing files raise DatasetError."""
    items = as_list(images)
    check_paths(items)
    return envelope([[encode_image(image)] for image in items], target=target)


def parse_response(payload: Any) -> list[Prediction]:
    """Predictions from ``{"predictions": [row, ...]}`` (MLflow, Databricks) or a list (Azure)."""
    rows = payload.get("predictions") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise ServiceError(
            f"unexpected answer {_shorten(payload)}: no list of predictions; "
            "is the endpoint serving a cloudml-edu model?"
        )
    try:
        return [
            Prediction(
                label=str(row["label"]),
                score=float(row["score"]),
                scores={
                    key[len(PROBA_PREFIX) :]: float(value)
                    for key, value in row.items()
                    if key.startswith(PROBA_PREFIX)
                },
            )
            for row in rows
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ServiceError(
            f"unexpected prediction row in {_shorten(payload)} ({exc!r}); a cloudml-edu model "
            "returns label, score and p:<class> columns: deploy one of its runs"
        ) from exc


def _shorten(payload: Any, limit: int = 200) -> str:
    text = json.dumps(payload) if not isinstance(payload, str) else payload
    return text if len(text) <= limit else text[:limit] + "..."


def error_message(status: int, text: str) -> str:
    """What the server said went wrong: the model's own exception when MLflow includes it."""
    try:
        payload = json.loads(text)
    except ValueError:
        return f"HTTP {status}: {_shorten(text.strip()) or 'no message'}"
    if not isinstance(payload, dict):
        return f"HTTP {status}: {_shorten(payload)}"
    trace = [line for line in str(payload.get("stack_trace", "")).splitlines() if line.strip()]
    cause = trace[-1].strip() if trace else ""
    message = str(payload.get("message", "")) or _shorten(payload)
    return f"HTTP {status}: {cause or message}"


def post_json(
    session: requests.Session,
    url: str,
    body: dict[str, Any],
    *,
    timeout: float,
    name: str,
    when_down: str,
    when_failed: str,
) -> Any:
    """POST ``body`` to ``url`` and return the JSON answer.

    Errors raise ServiceError (TimeoutError past ``timeout``); ``when_down`` and
    ``when_failed`` say what to do when the server is unreachable or answers 5xx.
    """
    import requests

    try:
        response = session.post(
            url,
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        )
    except requests.Timeout as exc:
        raise TimeoutError(
            f"endpoint {name!r} did not answer within {timeout:g} s; send fewer images per "
            "call (predict_batch) or pass a longer timeout"
        ) from exc
    except requests.ConnectionError as exc:
        raise ServiceError(f"endpoint {name!r} at {url} is not answering; {when_down}") from exc
    if response.status_code >= 400:
        reason = error_message(response.status_code, response.text)
        if response.status_code >= 500:
            raise ServiceError(f"endpoint {name!r} failed ({reason}); {when_failed}")
        raise ServiceError(
            f"endpoint {name!r} rejected the request ({reason}); "
            "send PNG or JPEG files like those the model was trained on"
        )
    try:
        return response.json()
    except ValueError as exc:
        raise ServiceError(
            f"endpoint {name!r} answered with something that is not JSON: {_shorten(response.text)}"
        ) from exc


# ---- the server process ------------------------------------------------------------------


class ProcessRef(BaseModel):
    """A process identified by pid and start time, so a reused pid is never mistaken for it."""

    pid: int
    started: float


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def start_server(
    model_uri: str, *, port: int, tracking_uri: str, log_path: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """Run ``mlflow models serve`` in a new session (so it outlives us), logging to ``log_path``."""
    import shutil

    bin_dir = _bin_dir()
    mlflow = shutil.which("mlflow", path=str(bin_dir))
    if mlflow is None:
        raise ConfigError(
            f"the `mlflow` command is not installed next to {sys.executable}; "
            "run `pip install mlflow` in this environment"
        )
    env = {
        **os.environ,
        # mlflow starts `uvicorn` from PATH: use this environment's.
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        "MLFLOW_TRACKING_URI": tracking_uri,  # resolves runs:/ and models:/ URIs
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "PYTHONUNBUFFERED": "1",
    }
    command = [mlflow, "models", "serve", "-m", model_uri, "--env-manager", "local"]
    command += ["-h", HOST, "-p", str(port)]
    with log_path.open("wb") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # POSIX; on Windows a new process group does the same
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )


def log_tail(path: Path, lines: int = 15) -> str:
    """The last non-empty ``lines`` of a log file, indented, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in kept)


@contextmanager
def _status(description: str, *, progress: bool | None) -> Iterator[Callable[[float], None]]:
    """A live status line showing ``description``, or nothing; yields ``tick(elapsed_seconds)``."""
    update = status_line(description, progress=progress)
    try:
        yield lambda elapsed: update(f"{description} ({elapsed:.0f} s)")
    finally:
        update(None)


def wait_ready(
    process: subprocess.Popen[bytes],
    url: str,
    *,
    timeout: float,
    log_path: Path,
    description: str,
    progress: bool | None = None,
) -> None:
    """Poll ``url/ping`` until it answers 200.

    Raises ServiceError if the server exits first, TimeoutError after ``timeout`` seconds.
    """
    import requests

    start = time.monotonic()
    with requests.Session() as session, _status(description, progress=progress) as tick:
        while True:
            code = process.poll()
            if code is not None:
                raise ServiceError(
                    f"the model server exited (code {code}) before it was ready; last lines of "
                    f"{log_path}:\n{log_tail(log_path)}\ncheck the model URI and that the run "
                    "finished with a model"
                )
            with suppress(requests.RequestException):
                if session.get(f"{url}/ping", timeout=1.0).status_code == 200:
                    return
            elapsed = time.monotonic() - start
            if elapsed > timeout:
                raise TimeoutError(
                    f"the model server was not ready after {timeout:g} s and was stopped; last "
                    f"lines of {log_path}:\n{log_tail(log_path)}\n"
                    "deploy again with a longer timeout"
                )
            tick(elapsed)
            time.sleep(0.1)


def server_processes(pid: int) -> list[ProcessRef]:
    """The server process and its children (uvicorn), with their start times; [] when gone."""
    import psutil  # type: ignore[import-untyped, unused-ignore]

    refs = []
    try:
        leader = psutil.Process(pid)
        found = [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    for proc in found:
        with suppress(psutil.NoSuchProcess):
            refs.append(ProcessRef(pid=proc.pid, started=proc.create_time()))
    return refs


def live_processes(refs: Sequence[ProcessRef]) -> list[psutil.Process]:
    """Those of ``refs`` still running (same pid *and* start time, not a zombie)."""
    import psutil  # type: ignore[import-untyped, unused-ignore]

    alive = []
    for ref in refs:
        try:
            proc = psutil.Process(ref.pid)
            if (
                abs(proc.create_time() - ref.started) < 1.0
                and proc.status() != psutil.STATUS_ZOMBIE
            ):
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def stop(processes: Sequence[psutil.Process], *, timeout: float = 10.0) -> None:
    """Terminate ``processes``, kill those still running after ``timeout``, reap our children.

    Children go first: uvicorn exits in ~0.1 s that way, but takes ~2 s once its parent is gone.
    """
    import psutil  # type: ignore[import-untyped, unused-ignore]

    for proc in reversed(processes):
        with suppress(psutil.Error):
            proc.terminate()
        _, alive = psutil.wait_procs([proc], timeout=timeout)
        for left in alive:
            with suppress(psutil.Error):
                left.kill()
        psutil.wait_procs(alive, timeout=timeout)


def abort(process: subprocess.Popen[bytes]) -> None:
    """Stop a server that never became ready, and anything left in its process group."""
    if process.poll() is None:
        stop(live_processes(server_processes(process.pid)), timeout=5.0)
    process.wait()
    if hasattr(os, "killpg"):  # the session we started: catches an orphaned uvicorn
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
