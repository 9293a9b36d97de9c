"""Third-party INFO lines are off by default, in scripts too, unless the user asked for them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import sys
from pathlib import Path
from cloudml_edu import Workspace
import mlflow
ws = Workspace.local(Path(sys.argv[1]), owner="q")
mlflow.set_tracking_uri(ws.tracking_uri)
mlflow.search_experiments()  # creates the SQLite store: MLflow logs its tables at INFO
"""


def _stderr(tmp_path: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "MLFLOW_LOGGING_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        check=True,
    )
    return done.stderr


@pytest.mark.parametrize("explicit", [None, "INFO"])
def test_mlflow_info_lines_are_quiet_unless_the_user_sets_a_level(
    tmp_path: Path, explicit: str | None
) -> None:
    err = _stderr(tmp_path, **({"MLFLOW_LOGGING_LEVEL": explicit} if explicit else {}))
    if explicit:
        assert "Creating initial MLflow database tables" in err  # the user's choice is kept
    else:
        assert "INFO" not in err, err


AZURE_SCRIPT = """
import cloudml_edu  # noqa: F401  (sets the quiet defaults)
from azure.ai.ml import command
command(command="echo", environment="azureml:env:1", code=".")._to_rest_object()
"""


@pytest.mark.parametrize("user_level", [None, "WARNING"])
def test_azure_ml_experimental_class_warnings_are_quiet_unless_the_user_sets_a_level(
    user_level: str | None,
) -> None:
    """Building a job prints "This is an experimental class" six times in a plain script;
    not with cloudml_edu imported, unless the user gave that logger a level."""
    setup = (
        f"import logging; logging.getLogger('azure.ai.ml._utils._experimental').setLevel('{user_level}')\n"
        if user_level
        else ""
    )
    done = subprocess.run(
        [sys.executable, "-c", setup + AZURE_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert ("experimental class" in done.stderr) == bool(user_level), done.stderr
