"""Usability measured, per run: how long its model took to deploy and to give a first answer.

``Endpoint.deploy`` records the seconds from asking to a live endpoint, the first
``predict`` the seconds of that first request; both are kept in the workspace
folder (``measurements/<run id>.json``), so they outlive the endpoint and travel with
a hand-in.  ``compare`` reads them: *deploy s* is the measured deploy time, *first
answer s* the machine time from the start of training to the first prediction
(training + deploy + the first request), whatever time the student left between.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["RunMeasurements", "read_measurements", "record_measurement"]

log = logging.getLogger(__name__)
_FOLDER = "measurements"


@dataclass(frozen=True)
class RunMeasurements:
    """What was measured for one run's model (None: not measured yet)."""

    deploy_seconds: float | None = None
    first_request_seconds: float | None = None


def _path(root: Path, run_id: str) -> Path:
    return root / _FOLDER / f"{run_id}.json"


def read_measurements(root: Path, run_id: str) -> RunMeasurements:
    """The measurements of ``run_id`` in the workspace folder ``root`` (empty when none;
    an unreadable file is skipped with a warning)."""
    path = _path(root, run_id)
    if not path.is_file():
        return RunMeasurements()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunMeasurements(
            deploy_seconds=data.get("deploy_seconds"),
            first_request_seconds=data.get("first_request_seconds"),
        )
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("skipping unreadable measurements %s: %s", path, exc)
        return RunMeasurements()


def record_measurement(
    root: Path,
    run_id: str,
    *,
    deploy_seconds: float | None = None,
    first_request: float | None = None,
) -> None:
    """Keep a new deploy time (the latest deploy counts) or the first request's time (only
    the first counts) for ``run_id``; never fails the call it measures."""
    old = read_measurements(root, run_id)
    new = RunMeasurements(
        deploy_seconds=round(deploy_seconds, 3)
        if deploy_seconds is not None
        else old.deploy_seconds,
        first_request_seconds=old.first_request_seconds
        if old.first_request_seconds is not None or first_request is None
        else round(first_request, 3),
    )
    if new == old:
        return
    path = _path(root, run_id)
    try:
        path.parent.mkdir(exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(new)), encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        log.warning("could not keep the measurement of run %s: %s", run_id, exc)
