"""cloudml-edu: train, deploy and compare image classifiers locally, on Azure ML and on Databricks.

    from cloudml_edu import Workspace, Dataset, Trainer, Endpoint

    ws = Workspace.local()
    ds = Dataset.sample("digits", "data/digits").upload(ws)
    run = Trainer("designer", workspace=ws).fit(ds)      # or "sdk", or "automl"
    print(run.metrics.accuracy)

Names are loaded on first use, so ``import cloudml_edu`` stays fast and pulls in
none of the heavy SDKs (Azure ML, Databricks, MLflow, scikit-learn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudml_edu._lazy import lazy_attributes
from cloudml_edu._quiet import quiet_third_party
from cloudml_edu._version import __version__
from cloudml_edu.errors import (
    AuthError,
    BackendError,
    CloudMLError,
    ConfigError,
    ConflictError,
    DatasetError,
    NotFoundError,
    ServiceError,
    StoreDamagedError,
    ThrottledError,
    TimeoutError,
    UnsafePathError,
)

quiet_third_party()  # before anything imports MLflow; see cloudml_edu._quiet

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.endpoint import Endpoint, Prediction
    from cloudml_edu.metrics import Metrics
    from cloudml_edu.run import Plan, TrainingRun
    from cloudml_edu.trainer import Trainer
    from cloudml_edu.workspace import Workspace

__all__ = [
    "AuthError",
    "BackendError",
    "CloudMLError",
    "ConfigError",
    "ConflictError",
    "Dataset",
    "DatasetError",
    "Endpoint",
    "Metrics",
    "NotFoundError",
    "Plan",
    "Prediction",
    "ServiceError",
    "StoreDamagedError",
    "ThrottledError",
    "TimeoutError",
    "Trainer",
    "TrainingRun",
    "UnsafePathError",
    "Workspace",
    "__version__",
]

_LAZY = {
    "Dataset": "cloudml_edu.datasets",
    "Endpoint": "cloudml_edu.endpoint",
    "Prediction": "cloudml_edu.endpoint",
    "Metrics": "cloudml_edu.metrics",
    "Plan": "cloudml_edu.run",
    "TrainingRun": "cloudml_edu.run",
    "Trainer": "cloudml_edu.trainer",
    "Workspace": "cloudml_edu.workspace",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
