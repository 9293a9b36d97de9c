"""Every designer component's command, substituted as Azure ML does, parses with its own parser."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from cloudml_edu.backends.azureml.designer import COMPONENT_DIR, STEPS
from cloudml_edu.testing.azure_ml.commands import substitute

_PARSE = """
import json, sys
from cloudml_edu.training.steps import _parser
print(json.dumps(vars(_parser().parse_args(sys.argv[1:])), default=str))
"""
_VALUES = {
    "model_family": "Multiclass Decision Forest",
    "params": json.dumps({"n_estimators": 8, "max_depth": 32}),
    "image_size": "16",
    "color_mode": "L",
    "test_size": "0.2",
    "seed": "0",
}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("gradients", [True, False])
def test_substituted_command_parses(step: str, gradients: bool, tmp_path: Path) -> None:
    import subprocess

    spec = yaml.safe_load((COMPONENT_DIR / f"{step}.yaml").read_text())
    inputs: dict[str, str | None] = {}
    for name, declared in spec["inputs"].items():
        if declared["type"] == "uri_folder":
            inputs[name] = str(tmp_path / "in" / name)
        elif name == "no_gradients":
            inputs[name] = None if gradients else "--no-gradients"
        else:
            inputs[name] = _VALUES[name]
    outputs = {name: str(tmp_path / "out" / name) for name in spec["outputs"]}
    command = substitute(spec["command"], inputs, outputs)
    prefix = "python -m cloudml_edu.training.steps"
    assert command.startswith(prefix)
    script = tmp_path / "parse.py"
    script.write_text(_PARSE)
    done = subprocess.run(
        ["bash", "-c", f"{sys.executable} {script}{command[len(prefix) :]}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    parsed = json.loads(done.stdout)
    assert parsed["step"] == step
    if "model_family" in spec["inputs"]:
        assert parsed["model_family"] == "Multiclass Decision Forest"
        assert json.loads(parsed["params"]) == {"n_estimators": 8, "max_depth": 32}
    if "no_gradients" in spec["inputs"]:
        assert parsed["no_gradients"] is (not gradients)
    assert parsed["out"] == outputs[next(iter(spec["outputs"]))]


def test_optional_block_dropped_and_missing_reference_refused() -> None:
    assert substitute("a $[[--x ${{inputs.x}}]] b", {"x": None}, {}) == "a  b"
    assert substitute("a $[[--x ${{inputs.x}}]]", {"x": "1"}, {}) == "a --x 1"
    with pytest.raises(KeyError, match=r"inputs\.y"):
        substitute("a ${{inputs.y}}", {}, {})
