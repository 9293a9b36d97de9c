"""The target descriptors, the rule that picks a target, and the one import-by-string helper."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cloudml_edu import ConfigError, Trainer, Workspace
from cloudml_edu._lazy import import_string
from cloudml_edu.backends.base import Billable
from cloudml_edu.config import CloudMLConfig
from cloudml_edu.targets import (
    PriceBasis,
    Target,
    all_targets,
    backend_names,
    get_target,
    target_for_backend,
)

AZURE = {"azure_ml": {"subscription_id": "s", "resource_group": "r", "workspace_name": "w"}}
DATABRICKS = {"databricks": {"host": "https://adb.example", "token": "dapi-not-a-real-token"}}


def test_each_builtin_target_names_classes_that_agree_with_it() -> None:
    assert list(all_targets()) == ["local", "azureml", "databricks"]
    assert backend_names() == ("designer", "sdk", "automl")
    for target in all_targets().values():
        for backend in target.trainers:
            trainer = target.trainer(backend)
            assert (trainer.name, trainer.target) == (backend, target.name)
        assert target.load("endpoint_provider").target == target.name
    assert get_target("azureml").title == "Azure ML"
    assert (get_target("azureml").section, get_target("azureml").extra) == ("azure_ml", "azure")
    cleanup = get_target("databricks").load("cleanup")
    assert callable(cleanup.billable) and callable(cleanup.remove)


@pytest.mark.parametrize(
    ("config", "backend", "target", "chosen"),
    [
        ({}, "sdk", None, "local"),
        (AZURE, "sdk", None, "azureml"),
        (AZURE, "automl", None, "local"),  # azureml does not offer automl
        (DATABRICKS, "automl", None, "databricks"),
        (AZURE, "sdk", "local", "local"),  # an explicit target wins
        ({**AZURE, **DATABRICKS}, "designer", None, "azureml"),
    ],
)
def test_which_target_trains_a_backend(
    config: dict[str, object], backend: str, target: str | None, chosen: str
) -> None:
    parsed = CloudMLConfig.model_validate(config)
    assert target_for_backend(backend, parsed, target).name == chosen


def test_a_target_that_is_unknown_unconfigured_or_not_offering_is_refused() -> None:
    none = CloudMLConfig()
    with pytest.raises(ConfigError, match="unknown target 'aws'; choose one of: local, azureml"):
        target_for_backend("sdk", none, "aws")
    with pytest.raises(ConfigError, match=r"needs the \[azure_ml\] section.*--target local"):
        target_for_backend("sdk", none, "azureml")
    with pytest.raises(ConfigError, match="does not train 'automl' runs; targets that do: local"):
        target_for_backend("automl", CloudMLConfig.model_validate(AZURE), "azureml")
    with pytest.raises(ConfigError, match="unknown backend 'tpot'"):
        target_for_backend("tpot", none)
    with pytest.raises(ConfigError, match="target= takes a non-empty string"):
        Trainer("sdk", workspace=Workspace(none), target=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown target 'aws'"):
        Billable(target="aws", kind="endpoint", name="x")


def test_import_string_says_what_is_missing_and_what_installs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert import_string("cloudml_edu.targets:Target") is Target
    assert import_string("cloudml_edu.backends.azureml:cleanup").__name__.endswith("cleanup")
    with pytest.raises(ConfigError, match=r"is not available: no module cloudml_edu\.nowhere"):
        import_string("cloudml_edu.nowhere:X", extra="azure", what="the environment")
    with pytest.raises(ConfigError, match=r"cloudml_edu\.targets has no 'Nothing'"):
        import_string("cloudml_edu.targets:Nothing")
    with pytest.raises(ConfigError, match="not of the form"):
        import_string("cloudml_edu.targets")
    (tmp_path / "needs_sdk.py").write_text("import an_sdk_not_installed\nX = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=r"pip install 'cloudml-edu\[azure\]'"):
        import_string("needs_sdk:X", extra="azure")
    sys.modules.pop("needs_sdk", None)


def test_a_field_not_written_yet_is_a_config_error_not_a_crash() -> None:
    later = Target(
        name="later",
        title="Later",
        environment="cloudml_edu.backends.local.environment:JOB_ENVIRONMENT",
        price_basis=PriceBasis(sku_setting="vm_size"),
    )
    with pytest.raises(ConfigError, match=r"the environment of target 'later'.*not available"):
        later.load("environment")
    with pytest.raises(ConfigError, match="target 'later' \\(Later\\) has no doctor"):
        later.load("doctor")
    with pytest.raises(ConfigError, match="does not train 'sdk' runs"):
        later.trainer("sdk")
    with pytest.raises(ConfigError, match="target name 'Bad Name' is not valid"):
        Target(name="Bad Name", title="x")
