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
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.training.columns import INPUT_COLUMN, PROBA_PREFIX

if TYPE_CHECKING:
    import pandas as pd

    from cloudml_edu.training.features import FeatureSpec

__all__ = ["REQUIREMENTS", "SHIPPED", "log_model", "requirements", "save_model"]

#: The files of ``cloudml_edu`` a served model imports (and carries), relative to the package.
SHIPPED: tuple[str, ...] = (
    "_images.py",
    "training/columns.py",
    "training/features.py",
    "training/frame.py",
    "training/scores.py",
    "training/served.py",
)
#: The distributions the shipped code imports; joblib comes with scikit-learn.
REQUIREMENTS: tuple[str, ...] = ("mlflow", "numpy", "pandas", "pillow", "scikit-learn")


def requirements(extra: list[str] | None = None) -> list[str]:
    """:data:`REQUIREMENTS` pinned to the versions installed here (``name==version``), merged
    with ``extra`` (a trained model's own requirements lines, which win for a package both name).

    Where only ``mlflow-skinny`` is installed (Azure ML's job environment), the model asks for
    that one: it loads and serves a pyfunc with fewer packages.
    """
    from importlib.metadata import PackageNotFoundError, version

    merged: dict[str, str] = {}
    for name in REQUIREMENTS:
        try:
            merged[_key(name)] = f"{name}=={version(name)}"
        except PackageNotFoundError:
            if name != "mlflow":
                raise
            merged[_key(name)] = f"mlflow-skinny=={version('mlflow-skinny')}"
    for line in extra or []:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            merged[_key(line)] = line
    return list(merged.values())


def _key(requirement: str) -> str:
    """The normalised distribution name of a requirement line (``Scikit_Learn==1`` -> ``scikit-learn``)."""
    name = re.split(r"[\s\[<>=!~;@]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _model_options(
    model: Any,
    spec: FeatureSpec,
    tmp: Path,
    example: bytes | None,
    extra_requirements: list[str] | None = None,
) -> dict[str, Any]:
    """What ``log_model`` and ``save_model`` are given: code, artifacts, signature, pins.

    The signature names the input and the output columns (Unity Catalog registers only
    models with both).
    """
    import joblib
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    classifier = tmp / "classifier.joblib"
    joblib.dump(model, classifier)
    features = tmp / "features.json"
    features.write_text(json.dumps(spec.to_dict()))
    outputs: list[Any] = [ColSpec("string", "label"), ColSpec("double", "score")]
    outputs += [ColSpec("double", PROBA_PREFIX + str(c)) for c in getattr(model, "classes_", [])]
    signature = ModelSignature(
        inputs=Schema([ColSpec("string", INPUT_COLUMN)]), outputs=Schema(outputs)
    )
    return {
        "python_model": str(Path(__file__).with_name("_model_code.py")),
        "artifacts": {"classifier": str(classifier), "features": str(features)},
        "code_paths": [str(_code_package(tmp / "code"))],
        "signature": signature,
        "input_example": _example_frame(example) if example is not None else None,
        "pip_requirements": requirements(extra_requirements),
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
    model: Any,
    spec: FeatureSpec,
    *,
    example: bytes | None = None,
    name: str = "model",
    extra_requirements: list[str] | None = None,
) -> str:
    """Log ``model`` as an MLflow pyfunc in the active run; returns its ``runs:/`` URI.

    ``example`` (one encoded image) becomes the model's input example, a ready
    request for students.  ``extra_requirements`` are what the classifier itself
    needs at inference (a trained model's requirements). The signature names the
    input and the output columns (Unity Catalog registers only models with both).
    Works on MLflow 2 (the Databricks runtime's) and 3.
    """
    import mlflow

    where = {"artifact_path": name} if mlflow.__version__.startswith("2.") else {"name": name}
    with tempfile.TemporaryDirectory() as tmp:
        options = _model_options(model, spec, Path(tmp), example, extra_requirements)
        info = mlflow.pyfunc.log_model(**where, **options)
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
