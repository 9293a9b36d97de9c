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
