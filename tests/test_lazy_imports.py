"""`import cloudml_edu` and `cloudml-edu --help` stay light: no heavy SDK is imported."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "azure.ai.ml",
    "azure.storage.blob",
    "databricks.sdk",
    "mlflow",
    "sklearn",
    "pandas",
    "matplotlib",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stderr.split())


def test_import_pulls_in_no_heavy_sdk() -> None:
    assert _loaded_after("import cloudml_edu; cloudml_edu.Workspace; cloudml_edu.Trainer") == set()


def test_cli_help_pulls_in_no_heavy_sdk() -> None:
    code = (
        "import sys\nfrom cloudml_edu.cli import app\n"
        "try:\n    app(['--help'], prog_name='cloudml-edu')\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) == set()


def test_public_names_resolve_lazily() -> None:
    import cloudml_edu

    for name in cloudml_edu.__all__:
        assert getattr(cloudml_edu, name) is not None
    assert "Trainer" in dir(cloudml_edu)


def test_require_imports_or_names_the_extra_to_install() -> None:
    import json

    import pytest

    from cloudml_edu import ConfigError
    from cloudml_edu._lazy import require

    assert require("json", extra="azure") is json
    with pytest.raises(ConfigError, match=r"pip install 'cloudml-edu\[databricks\]'") as info:
        require("cloudml_edu_no_such_sdk.client", extra="databricks")
    assert "cloudml_edu_no_such_sdk" in str(info.value)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_importing_scoring_pulls_in_no_heavy_sdk() -> None:
    assert _loaded_after("import cloudml_edu.scoring, cloudml_edu.endpoint") == set()
