"""The wire format of every endpoint target: images in, :class:`Prediction` objects out.

Pure functions shared by :class:`cloudml_edu.Endpoint` and every endpoint
provider (local, Azure ML, Databricks):

* :func:`as_list`, :func:`check_paths` and :func:`encode_image` turn what a user
  passes (paths, bytes, PIL images) into base64 strings, failing before anything
  is sent when a file is missing or unreadable;
* :func:`envelope` wraps those rows the way a target expects them and
  :func:`request_body` does both steps;
* :func:`parse_response` reads the answer of any target;
* :func:`post_json` sends a body and maps HTTP failures to cloudml-edu errors.

The column names come from :mod:`cloudml_edu.training.columns`, the file the
served model itself carries.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import BaseModel, ConfigDict

from cloudml_edu._http import error_class
from cloudml_edu.errors import (
    AuthError,
    CloudMLError,
    ConfigError,
    DatasetError,
    NotFoundError,
    QuotaError,
    ServiceError,
    ThrottledError,
    TimeoutError,
)
from cloudml_edu.targets import LOCAL, get_target
from cloudml_edu.training.columns import INPUT_COLUMN, PROBA_PREFIX

if TYPE_CHECKING:
    import requests
    from PIL.Image import Image

__all__ = [
    "INPUT_COLUMN",
    "PROBA_PREFIX",
    "ImageInput",
    "Images",
    "Prediction",
    "as_list",
    "check_paths",
    "encode_image",
    "envelope",
    "error_message",
    "parse_response",
    "post_json",
    "request_body",
]

ImageInput: TypeAlias = "str | os.PathLike[str] | bytes | Image"
Images: TypeAlias = "ImageInput | Iterable[ImageInput]"


class Prediction(BaseModel):
    """One image's answer: the predicted ``label``, its probability and every class's."""

    model_config = ConfigDict(frozen=True)

    label: str
    score: float
    scores: dict[str, float]


# ---- request ------------------------------------------------------------------------------


def as_list(images: Images) -> list[ImageInput]:
    """One image (path, bytes or PIL image) or many, as a list."""
    if isinstance(images, str | bytes | os.PathLike) or not isinstance(images, Iterable):
        return [images]
    return list(images)


def encode_image(image: ImageInput) -> str:
    """Base64 of an encoded image: bytes as given, a file's content, or a PIL image as PNG.

    Files are decoded here first: an unreadable file or one that is not a usable image
    raises DatasetError naming it (in ``bad_files``), before anything is sent.  Bytes go
    as given (the endpoint answers for them).
    """
    if isinstance(image, bytes):
        data = image
    elif isinstance(image, str | os.PathLike):
        from cloudml_edu._images import check_image

        try:
            data = Path(image).read_bytes()
        except OSError as exc:
            raise DatasetError(
                f"cannot read {image} ({exc.strerror}); check the file", bad_files=[str(image)]
            ) from exc
        problem = check_image(data).problem
        if problem is not None:
            raise DatasetError(
                f"{image} is not a usable image ({problem}); nothing was sent: remove or "
                "replace it",
                bad_files=[str(image)],
            )
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


def envelope(rows: list[list[str]], *, target: str = LOCAL) -> dict[str, Any]:
    """Wrap rows of the ``image`` column the way ``target`` expects them (its ``envelope``).

    The MLflow server and Databricks Model Serving read ``dataframe_split``;
    Azure ML online endpoints read MLflow models' input under ``input_data``,
    split orientation with an index.
    """
    if get_target(target).envelope == "input_data":
        split = {"columns": [INPUT_COLUMN], "index": list(range(len(rows))), "data": rows}
        return {"input_data": split}
    return {"dataframe_split": {"columns": [INPUT_COLUMN], "data": rows}}


def request_body(images: Images, *, target: str = LOCAL) -> dict[str, Any]:
    """The JSON body asking ``target`` to classify ``images``; missing files raise DatasetError."""
    items = as_list(images)
    check_paths(items)
    return envelope([[encode_image(image)] for image in items], target=target)


# ---- response -----------------------------------------------------------------------------


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


# ---- HTTP ---------------------------------------------------------------------------------


#: What a failed call to an endpoint means, keyed by the class the status table picks;
#: ``{reason}`` is what the server said, ``{down}``/``{failed}`` the caller's next steps.
_NEXT_STEP: dict[type[CloudMLError], str] = {
    AuthError: "endpoint {name!r} refused the credentials ({reason}); check that you may call "
    "it, and sign in again",
    NotFoundError: "endpoint {name!r} has nothing at {url} ({reason}); {down}",
    ThrottledError: "endpoint {name!r} is throttling requests ({reason}); send fewer or smaller "
    "requests, or wait a minute",
    QuotaError: "endpoint {name!r} refused: a quota is used up ({reason}); waiting will not "
    "help: free capacity (`cloudml-edu cleanup`) or ask for more quota, then call it again",
    ConfigError: "endpoint {name!r} rejected the request ({reason}); send PNG or JPEG files "
    "like those the model was trained on",
    ServiceError: "endpoint {name!r} failed ({reason}); {failed}",
}


def post_json(
    session: requests.Session,
    url: str,
    body: dict[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    name: str,
    when_down: str,
    when_failed: str,
) -> Any:
    """POST ``body`` to ``url`` (plus ``headers``, e.g. ``Authorization``); return the JSON answer.

    A failed answer raises the error class :func:`cloudml_edu._http.error_class`
    picks (401/403 AuthError, 404 NotFoundError, 429 ThrottledError, a quota body
    QuotaError, other 4xx ConfigError, 5xx ServiceError) with that class's next
    step from ``_NEXT_STEP``; no answer raises ServiceError, or TimeoutError
    past ``timeout``.  ``when_down`` and ``when_failed`` say what to do when the
    endpoint is unreachable (or gone) or answers 5xx.  Header values never appear
    in errors.
    """
    import requests

    try:
        response = session.post(
            url,
            data=json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=timeout,
        )
    except requests.Timeout as exc:
        raise TimeoutError(
            f"endpoint {name!r} did not answer within {timeout:g} s; send fewer images per "
            "call (predict_batch) or pass a longer timeout"
        ) from exc
    except requests.ConnectionError as exc:
        raise ServiceError(f"endpoint {name!r} at {url} is not answering; {when_down}") from exc
    status = response.status_code
    if status >= 400:
        kind = error_class(status, response.text)
        step = _NEXT_STEP.get(kind, _NEXT_STEP[ConfigError])
        reason = error_message(status, response.text)
        raise kind(
            step.format(name=name, reason=reason, url=url, down=when_down, failed=when_failed)
        )
    try:
        return response.json()
    except ValueError as exc:
        raise ServiceError(
            f"endpoint {name!r} answered with something that is not JSON: {_shorten(response.text)}"
        ) from exc
