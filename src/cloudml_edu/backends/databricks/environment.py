"""The Databricks Runtime ML the ``automl`` task runs on, as one :class:`EnvironmentSpec`.

Databricks AutoML needs no library beyond the runtime's, and upgrading or
downgrading a preinstalled one makes AutoML runs fail; so the task and the few
modules it needs go to the workspace as files, and nothing is installed on the
cluster.  The code must therefore run on the runtime's own Python and packages:
:data:`RUNTIME_ENVIRONMENT` lists the ones the task, AutoML's best models
(``databricks-automl-runtime`` pipelines, LightGBM) and the served model import,
at the versions the runtime ships.  The offline twin
(:mod:`cloudml_edu.testing.twins`) builds exactly these, plus local-mode
``pyspark`` in place of the cluster's Spark (``twin_only``).

:data:`RUNTIMES` maps the ``[databricks] runtime`` setting to a cluster
``spark_version`` and its spec; only LTS ML runtimes that still ship AutoML
(up to 17.x ML; AutoML is gone from 18.0 ML) are offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudml_edu.environments import EnvironmentSpec
from cloudml_edu.errors import ConfigError

__all__ = ["DEFAULT_RUNTIME", "RUNTIMES", "RUNTIME_ENVIRONMENT", "Runtime", "runtime"]

#: Databricks Runtime 15.4 LTS for Machine Learning (CPU), Python 3.11, Spark 3.5.0.  MLflow is
#: checked against the MLflow-Databricks Runtime compatibility matrix (15.4 LTS ML: 2.13.1); the
#: other pins follow the release notes' "Python libraries on CPU clusters" table but were not yet
#: re-checked against that page: verify them there before relying on an exact version.
RUNTIME_ENVIRONMENT = EnvironmentSpec(
    name="databricks-15.4-lts-ml",
    python="3.11",
    pins=(
        "mlflow==2.13.1",
        "mlflow-skinny==2.13.1",
        "numpy==1.23.5",
        "pandas==1.5.3",
        "pyarrow==14.0.1",
        "scikit-learn==1.3.0",
        "scipy==1.11.1",
        "lightgbm==4.3.0",
        "databricks-automl-runtime==0.2.21",
        "category-encoders==2.6.3",
        "holidays==0.45",
        "wrapt==1.14.1",
        "statsmodels==0.14.0",
        "patsy==0.5.3",
        "pillow==10.3.0",
        "joblib==1.2.0",
        "cloudpickle==2.2.1",
        "matplotlib==3.7.2",
        "psutil==5.9.0",
    ),
    source=(
        "Databricks Runtime 15.4 LTS for Machine Learning release notes: system environment "
        "(Python 3.11) and Python libraries on CPU clusters; MLflow-Databricks Runtime "
        "compatibility matrix (MLflow 2.13.1)"
    ),
    twin_only=("pyspark==3.5.0", "py4j==0.10.9.7"),
)


@dataclass(frozen=True)
class Runtime:
    """One selectable runtime: the cluster's ``spark_version`` and what it ships."""

    name: str
    spark_version: str
    environment: EnvironmentSpec


#: The runtimes ``[databricks] runtime`` accepts (tested: the default).
RUNTIMES: dict[str, Runtime] = {
    "15.4-lts-ml": Runtime("15.4-lts-ml", "15.4.x-cpu-ml-scala2.12", RUNTIME_ENVIRONMENT),
}
DEFAULT_RUNTIME = "15.4-lts-ml"


def runtime(name: str) -> Runtime:
    """The runtime called ``name``, or ConfigError listing the ones that run AutoML."""
    found = RUNTIMES.get(name)
    if found is None:
        raise ConfigError(
            f"[databricks] runtime = {name!r} is not a runtime cloudml-edu runs AutoML on; use "
            f"one of {', '.join(sorted(RUNTIMES))} (AutoML is gone from Runtime 18.0 ML)"
        )
    return found
