"""The model families every backend can train, and the AutoML search space over them."""

from __future__ import annotations

import random
from typing import Any

__all__ = ["FAMILIES", "build_model", "sample_params"]

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


def build_model(family: str, params: dict[str, Any], *, seed: int = 0) -> Any:
    """A scikit-learn pipeline (scaling + classifier) for ``family`` with ``params``."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if family not in FAMILIES:
        from cloudml_edu.errors import ConfigError

        raise ConfigError(f"unknown model family {family!r}; choose one of: {', '.join(FAMILIES)}")
    params = dict(params)
    if family == "logistic_regression":
        classifier: Any = LogisticRegression(max_iter=3000, random_state=seed, **params)
    elif family == "svc":
        classifier = CalibratedClassifierCV(SVC(random_state=seed, **params), ensemble=False)
    elif family == "random_forest":
        return make_pipeline(RandomForestClassifier(random_state=seed, n_jobs=-1, **params))
    elif family == "knn":
        classifier = KNeighborsClassifier(**params)
    else:
        params["hidden_layer_sizes"] = tuple(params.get("hidden_layer_sizes", (128,)))
        classifier = MLPClassifier(max_iter=600, early_stopping=False, random_state=seed, **params)
    return make_pipeline(StandardScaler(), classifier)


def sample_params(family: str, rng: random.Random) -> dict[str, Any]:
    """One random point of ``family``'s search space."""
    return {name: rng.choice(choices) for name, choices in FAMILIES[family].items()}
