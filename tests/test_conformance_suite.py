"""The conformance suite's own parts catch what they are meant to catch (no target trained here)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cloudml_edu import ConfigError, Metrics
from cloudml_edu.testing.conformance import (
    TargetConformance,
    check_metrics,
    no_sockets,
    served_model_spec,
)

CLASSES = ["a", "b"]


def _metrics(**changes: Any) -> Metrics:
    """Two classes, 4 test images, one ``b`` predicted ``a``: every field consistent."""
    values: dict[str, Any] = {
        "accuracy": 0.75,
        "precision_macro": (2 / 3 + 1) / 2,
        "recall_macro": (1 + 0.5) / 2,
        "f1_macro": (0.8 + 2 / 3) / 2,
        "precision_weighted": (2 / 3 + 1) / 2,
        "recall_weighted": 0.75,
        "f1_weighted": (0.8 + 2 / 3) / 2,
        "log_loss": 0.4,
        "labels": CLASSES,
        "confusion_matrix": [[2, 0], [1, 1]],
        "per_class": {
            "a": {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2},
            "b": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
        },
        "n_train": 16,
        "n_test": 4,
    }
    return Metrics.model_validate({**values, **changes})


def test_consistent_metrics_pass() -> None:
    check_metrics(_metrics(), classes=CLASSES, n_test=4, n_train=16)


@pytest.mark.parametrize(
    "changes",
    [
        {"f1_macro": None},  # a field not reported
        {"confusion_matrix": [[2, 0], [0, 1]]},  # sums to 3, not the 4 test images
        {"accuracy": 0.9},  # not what the matrix says
        {"labels": ["a", "c"]},  # labels that are not the dataset's classes
        {"n_test": 10},  # made-up test split size
        {"precision_weighted": 0.5},  # not the support-weighted mean
    ],
)
def test_inconsistent_metrics_fail(changes: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        check_metrics(_metrics(**changes), classes=CLASSES, n_test=4, n_train=16)


def test_no_sockets_refuses_connections_and_lookups_then_restores() -> None:
    connect = socket.socket.connect
    with no_sockets():
        with pytest.raises(AssertionError, match="network connection"):
            socket.create_connection(("127.0.0.1", 9))
        with pytest.raises(AssertionError, match="network connection"):
            socket.getaddrinfo("example.com", 443)
        with socket.socket() as s, pytest.raises(AssertionError):
            s.connect(("127.0.0.1", 9))
    assert socket.socket.connect is connect


def test_served_model_twin_takes_mlflow_skinny_and_the_model_python(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    python_version: 3.10.13\n    loader_module: x\n"
    )
    (tmp_path / "requirements.txt").write_text(
        "mlflow==2.13.0\n# a comment\nnumpy==1.26.4  # pinned\n\nscikit-learn==1.5.2\n"
    )
    spec = served_model_spec(tmp_path)
    assert spec.python == "3.10"
    assert spec.pins == ("mlflow-skinny==2.13.0", "numpy==1.26.4", "scikit-learn==1.5.2")


def test_served_model_requirements_must_be_pinned(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text("flavors:\n  python_function:\n    python_version: 3.11.7\n")
    (tmp_path / "requirements.txt").write_text("mlflow==3.1.0\npandas>=2\n")
    with pytest.raises(ConfigError, match=r"pandas>=2.*not an exact pin"):
        served_model_spec(tmp_path)


def test_an_expected_failure_naming_no_case_is_refused() -> None:
    class Stale(TargetConformance):
        expected_failures: ClassVar[dict[str, str]] = {"test_renamed_case": "gone"}

    class Metafunc:
        fixturenames = ("backend",)
        function = TargetConformance.test_plan_sends_no_request

    with pytest.raises(ConfigError, match="test_renamed_case"):
        Stale().pytest_generate_tests(Metafunc())  # type: ignore[arg-type]
