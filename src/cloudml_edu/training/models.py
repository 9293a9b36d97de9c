"""The models every backend can train: scikit-learn families, the Designer's algorithms, and
the AutoML search space.

``sdk`` and ``automl`` train the scikit-learn families of :data:`FAMILIES` (``sdk``
defaults to ``svc``).  The ``designer`` backend offers Azure ML Designer's own
multiclass modules by their Designer names (:data:`DESIGNER_ALGORITHMS`), each a
scikit-learn model set up with that module's default settings, and defaults to
Multiclass Decision Forest, as a student dragging modules onto the canvas would;
so designer and sdk scores differ the way the two services' do.
"""

from __future__ import annotations

import random
import re
from typing import Any

__all__ = [
    "DEFAULT_FAMILY",
    "DEFAULT_PARAMS",
    "DESIGNER_ALGORITHMS",
    "DESIGNER_DEFAULT",
    "FAMILIES",
    "build_model",
    "canonical_model",
    "default_model",
    "default_params",
    "model_choices",
    "sample_params",
]

#: Family name -> search space (each value a list of choices).
FAMILIES: dict[str, dict[str, list[Any]]] = {
    "logistic_regression": {"C": [0.1, 0.3, 1.0, 3.0, 10.0]},
    "svc": {"C": [1.0, 3.0, 10.0, 30.0], "gamma": ["scale", 0.001, 0.003, 0.01]},
    "random_forest": {"n_estimators": [100, 200], "max_features": ["sqrt", "log2"]},
    "knn": {"n_neighbors": [1, 3, 5, 7], "weights": ["uniform", "distance"]},
    "mlp": {"hidden_layer_sizes": [(64,), (128,), (256,)], "alpha": [1e-4, 1e-3, 1e-2]},
}

DEFAULT_FAMILY = "svc"
DEFAULT_PARAMS: dict[str, Any] = {"C": 10.0, "gamma": "scale"}

#: Designer module name -> (scikit-learn family, that module's default settings translated).
#: Decision forest: 8 bagged trees, depth 32.  Logistic regression: L2 weight 1 (C = 1).
#: Neural network: one hidden layer of 100 nodes, learning rate 0.1, 100 iterations.
#: Boosted decision tree: 100 trees of at most 20 leaves, 10 samples a leaf, learning rate 0.2.
DESIGNER_ALGORITHMS: dict[str, tuple[str, dict[str, Any]]] = {
    "Multiclass Decision Forest": ("random_forest", {"n_estimators": 8, "max_depth": 32}),
    "Multiclass Logistic Regression": ("logistic_regression", {"C": 1.0}),
    "Multiclass Neural Network": (
        "mlp",
        {"hidden_layer_sizes": (100,), "learning_rate_init": 0.1, "max_iter": 100},
    ),
    "Multiclass Boosted Decision Tree": (
        "boosted_trees",
        {"max_leaf_nodes": 20, "min_samples_leaf": 10, "learning_rate": 0.2, "max_iter": 100},
    ),
}
DESIGNER_DEFAULT = "Multiclass Decision Forest"


def _key(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


_BY_KEY = {_key(name): name for name in [*FAMILIES, *DESIGNER_ALGORITHMS]}


def model_choices() -> list[str]:
    """Every model name a backend accepts: scikit-learn families, then Designer modules."""
    return [*FAMILIES, *DESIGNER_ALGORITHMS]


def canonical_model(name: str) -> str:
    """``name`` as spelled in the tables (case, spaces, ``-`` and ``_`` do not matter).

    Raises :class:`ConfigError` listing the choices for an unknown name.
    """
    found = _BY_KEY.get(_key(name))
    if found is None:
        from cloudml_edu.errors import ConfigError

        raise ConfigError(
            f"unknown model {name!r}; choose a family ({', '.join(FAMILIES)}) or a Designer "
            f"module ({', '.join(DESIGNER_ALGORITHMS)})"
        )
    return found


def default_model(backend: str) -> str:
    """The model a backend trains when none is asked for: the Designer's default for designer."""
    return DESIGNER_DEFAULT if backend == "designer" else DEFAULT_FAMILY


def default_params(model: str) -> dict[str, Any]:
    """The settings ``model`` trains with unless given others."""
    if model in DESIGNER_ALGORITHMS:
        return dict(DESIGNER_ALGORITHMS[model][1])
    return dict(DEFAULT_PARAMS) if model == DEFAULT_FAMILY else {}


def build_model(family: str, params: dict[str, Any], *, seed: int = 0) -> Any:
    """A scikit-learn pipeline (scaling + classifier) for ``family`` with ``params``.

    ``family`` may be a Designer module name: its defaults, updated with ``params``.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    name = canonical_model(family)
    params = dict(params)
    if name in DESIGNER_ALGORITHMS:
        name, defaults = DESIGNER_ALGORITHMS[name]
        params = {**defaults, **params}
    if name == "logistic_regression":
        classifier: Any = LogisticRegression(max_iter=3000, random_state=seed, **params)
    elif name == "svc":
        classifier = CalibratedClassifierCV(SVC(random_state=seed, **params), ensemble=False)
    elif name == "random_forest":
        return make_pipeline(RandomForestClassifier(random_state=seed, n_jobs=-1, **params))
    elif name == "boosted_trees":
        return make_pipeline(HistGradientBoostingClassifier(random_state=seed, **params))
    elif name == "knn":
        classifier = KNeighborsClassifier(**params)
    else:
        params["hidden_layer_sizes"] = tuple(params.get("hidden_layer_sizes", (128,)))
        params.setdefault("max_iter", 600)
        classifier = MLPClassifier(early_stopping=False, random_state=seed, **params)
    return make_pipeline(StandardScaler(), classifier)


def sample_params(family: str, rng: random.Random) -> dict[str, Any]:
    """One random point of ``family``'s search space."""
    return {name: rng.choice(choices) for name, choices in FAMILIES[family].items()}
