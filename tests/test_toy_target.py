"""A fourth target added from outside ``src/cloudml_edu``: the package in tests/toy_target.

``toy_cloud`` declares its :class:`~cloudml_edu.targets.Target` behind the
``cloudml_edu.targets`` entry point of its dist-info folder; putting that folder
on ``sys.path`` installs it.  Then training, deploying, comparing and cleaning up
on ``toy`` work through the same facade as the built-in targets.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudml_edu import ConfigError, Dataset, Endpoint, Trainer, TrainingRun, Workspace, targets
from cloudml_edu.config import CloudMLConfig, load_config
from cloudml_edu.report import compare

TOY = Path(__file__).parent / "toy_target"


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``toy_cloud`` installed (its dist-info on sys.path) while the test runs."""
    monkeypatch.syspath_prepend(str(TOY))
    importlib.invalidate_caches()
    targets._known.cache_clear()
    yield
    targets._known.cache_clear()  # found again without toy once sys.path is restored


@pytest.fixture
def toy_workspace(toy: None, tmp_path: Path) -> Workspace:
    config = tmp_path / "cloudml.toml"
    config.write_text('owner = "tess"\nroot = "ws"\n\n[toy]\nendpoint_hourly_usd = 0.25\n')
    return Workspace.from_config(config)


def test_the_entry_point_adds_the_target_and_its_config_section(toy: None) -> None:
    toy_target = targets.get_target("toy")
    assert list(targets.all_targets()) == ["local", "azureml", "databricks", "toy"]
    assert toy_target.title == "Toy cloud" and toy_target.offers("sdk")
    config = CloudMLConfig.model_validate({"toy": {"node_size": "Standard_DS4_v2"}})
    assert config.section("toy").node_size == "Standard_DS4_v2"
    assert [t.name for t in targets.cloud_targets(config)] == ["toy"]
    negative = {"CLOUDML_TOY__ENDPOINT_HOURLY_USD": "-1"}
    with pytest.raises(ConfigError, match=r"\[toy\] endpoint_hourly_usd: Input should be greater"):
        load_config(None, environ=negative)
    with pytest.raises(ConfigError, match="toyy: is not a known setting"):
        load_config(None, environ={"CLOUDML_TOYY__X": "1"})  # still a typo, not a section


def test_two_configured_targets_offering_a_backend_need_target(toy: None) -> None:
    both = Workspace(
        CloudMLConfig.model_validate(
            {"azure_ml": {"subscription_id": "s", "resource_group": "r"}, "toy": {}}
        )
    )
    with pytest.raises(ConfigError, match=r"'azureml' \(Azure ML\), 'toy' \(Toy cloud\).*target="):
        Trainer("sdk", workspace=both)
    assert Trainer("sdk", workspace=both, target="toy").target == "toy"
    assert Trainer("automl", workspace=both).target == "local"  # neither offers automl
    with pytest.raises(ConfigError, match="does not train 'designer'"):
        Trainer("designer", workspace=both, target="toy")


def test_train_deploy_compare_and_cleanup_on_toy(
    toy_workspace: Workspace, tiny_dir: Path, tmp_path: Path
) -> None:
    ws = toy_workspace
    data = Dataset.from_folder(tiny_dir)
    assert Trainer("sdk", workspace=ws).target == "toy"  # the one configured target with sdk
    run = Trainer("sdk", workspace=ws, target="toy").fit(data)
    assert run.status == "Completed" and run.target == "toy" and run.metrics is not None
    assert TrainingRun.get(ws, run.id).target == "toy"
    local = Trainer("sdk", workspace=ws, target="local").fit(data)

    endpoint = Endpoint.deploy(run, workspace=ws, name="toy-digits")
    try:
        assert endpoint.target == "toy" and endpoint.state == "live"
        predictions = endpoint.predict([tiny_dir / "circle" / "0.png"])
        assert predictions[0].label in {"circle", "square", "cross"}
        assert set(predictions[0].scores) == {"circle", "square", "cross"}

        table = compare([run, local], artifacts=False)
        assert [row.target for row in table.rows] == ["toy", "local"]
        estimated = [(e.target, e.title, e.sku) for e in table.rows[1].estimates]
        assert estimated == [
            ("azureml", "Azure ML", "Standard_DS3_v2"),
            ("toy", "Toy cloud", "Standard_F4s_v2"),
        ]

        from cloudml_edu.cli import app

        config = ["--config", str(ws.root.parent / "cloudml.toml")]
        listed = CliRunner().invoke(app, ["cleanup", "--dry-run", "--json", *config])
        assert listed.exit_code == 0, listed.output
        found = json.loads(listed.stdout)["found"]
        assert [(i["target"], i["name"], i["hourly_usd"]) for i in found] == [
            ("toy", "toy-digits", 0.25)
        ]
        done = CliRunner().invoke(app, ["cleanup", "--yes", "--json", *config])
        assert done.exit_code == 0, done.output
        assert [i["name"] for i in json.loads(done.stdout)["removed"]] == ["toy-digits"]
        assert Endpoint.list(ws) == []
    finally:
        if Endpoint.list(ws):
            endpoint.delete()
