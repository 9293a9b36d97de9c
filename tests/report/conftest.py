"""Real runs, trained once per session: designer, sdk and automl of one owner, designer of another."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fakes import Trained

from cloudml_edu.workspace import Workspace


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, digits_dir: Path) -> Trained:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.trainer import Trainer

    root = tmp_path_factory.mktemp("report-ws")
    student = Workspace.local(root, owner="student")
    alice = Workspace.local(root, owner="alice")
    data = Dataset.from_folder(digits_dir).upload(student)
    automl = {"max_trials": 4, "timeout_minutes": 1.0, "families": ["logistic_regression", "knn"]}
    runs = {
        "designer": Trainer("designer", workspace=student, progress=False).fit(data),
        "sdk": Trainer("sdk", workspace=student, progress=False).fit(data),
        "automl": Trainer("automl", workspace=student, progress=False, **automl).fit(data),
        "alice": Trainer("designer", workspace=alice, progress=False, model="knn").fit(data),
    }
    return Trained(root, runs)
