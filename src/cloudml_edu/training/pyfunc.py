"""Log the served model (:mod:`cloudml_edu.training.served`) to MLflow, carrying only what
inference needs.

* Code: the model is logged "from code" (``_model_code.py``, no pickled Python
  object) and ships a copy of the few modules it imports (:data:`SHIPPED`) in
  its ``code/`` folder, laid out as in the library (``cloudml_edu/...``) so the
  imports are the same in the library and in a serving container; nothing else
  of cloudml-edu ships.
* Packages: :func:`requirements` (mlflow, numpy, pandas, Pillow, scikit-learn),
  pinned to the versions that trained it, since a scikit-learn pickle loads
  reliably only in the version that wrote it.  No cloudml-edu, no cloud SDK: an
  Azure ML or Databricks serving container builds quickly.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.training.columns import INPUT_COLUMN

if TYPE_CHECKING:
    import pandas as pd

    from cloudml_edu.training.features import FeatureSpec

__all__ = ["REQUIREMENTS", "SHIPPED", "log_model", "requirements", "save_model"]

#: The files of ``cloudml_edu`` a served model imports (and carries), relative to the package.
SHIPPED: tuple[str, ...] = (
    "_images.py",
    "training/columns.py",
    "training/features.py",
    "training/scores.py",
    "training/served.py",
)
#: The distributions the shipped code imports; joblib comes with scikit-learn.
REQUIREMENTS: tuple[str, ...] = ("mlflow", "numpy", "pandas", "pillow", "scikit-learn")


def requirements() -> list[str]:
    """:data:`REQUIREMENTS` pinned to the versions installed here (``name==version``).

    Where only ``mlflow-skinny`` is installed (Azure ML's job environments), the model
    asks for that one: it loads and serves a pyfunc with fewer packages.
    """
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in REQUIREMENTS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            if name != "mlflow":
                raise
            pins.append(f"mlflow-skinny=={version('mlflow-skinny')}")
    return pins


def _model_options(
    model: Any, spec: FeatureSpec, tmp: Path, example: bytes | None
) -> dict[str, Any]:
    """What ``log_model`` and ``save_model`` are given: code, artifacts, signature, pins."""
    import joblib
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    classifier = tmp / "classifier.joblib"
    joblib.dump(model, classifier)
    features = tmp / "features.json"
    features.write_text(json.dumps(spec.to_dict()))
    return {
        "python_model": str(Path(__file__).with_name("_model_code.py")),
        "artifacts": {"classifier": str(classifier), "features": str(features)},
        "code_paths": [str(_code_package(tmp / "code"))],
        "signature": ModelSignature(inputs=Schema([ColSpec("string", INPUT_COLUMN)])),
        "input_example": _example_frame(example) if example is not None else None,
        "pip_requirements": requirements(),
    }


def save_model(model: Any, spec: FeatureSpec, path: Path, *, example: bytes | None = None) -> Path:
    """Save ``model`` as an MLflow pyfunc folder at ``path`` (an empty job output, say).

    This is how a job on Azure ML hands over its model: to a named output of type
    ``mlflow_model``, which is registered from ``azureml://jobs/<job>/outputs/<name>``.
    It works the same under MLflow 2 and 3, unlike ``log_model``.
    """
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        mlflow.pyfunc.save_model(path=str(path), **_model_options(model, spec, Path(tmp), example))
    return path


def log_model(
    model: Any, spec: FeatureSpec, *, example: bytes | None = None, name: str = "model"
) -> str:
    """Log ``model`` as an MLflow pyfunc in the active run; returns its ``runs:/`` URI.

    ``example`` (one encoded image) becomes the model's input example, a ready
    request for students.
    """
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        info = mlflow.pyfunc.log_model(name=name, **_model_options(model, spec, Path(tmp), example))
    run = mlflow.active_run()
    return f"runs:/{run.info.run_id}/{name}" if run else str(info.model_uri)


def _code_package(folder: Path) -> Path:
    """``folder/cloudml_edu``: the :data:`SHIPPED` files (and empty ``__init__.py``), nothing else."""
    library = Path(__file__).parents[1]
    package = folder / "cloudml_edu"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""What a cloudml-edu model runs at inference."""\n')
    for name in SHIPPED:
        target = package / name
        target.parent.mkdir(exist_ok=True)
        (target.parent / "__init__.py").touch()
        shutil.copyfile(library / name, target)
    return package


def _example_frame(image: bytes) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({INPUT_COLUMN: [base64.b64encode(image).decode("ascii")]})
