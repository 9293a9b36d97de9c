"""EnvironmentSpec checks its pins; a twin runs commands on the spec's own Python and packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudml_edu.environments import EnvironmentSpec
from cloudml_edu.errors import ConfigError
from cloudml_edu.testing.twins import ensure_twin, find_python


def test_spec_refuses_loose_pins_and_odd_pythons() -> None:
    with pytest.raises(ConfigError, match="not an exact pin"):
        EnvironmentSpec("job", "3.11", ("numpy>=2",))
    with pytest.raises(ConfigError, match="python must look like"):
        EnvironmentSpec("job", "3.11.7", ("numpy==2.0.0",))


def test_digest_is_content_not_order() -> None:
    one = EnvironmentSpec("job", "3.11", ("a==1", "b==2"))
    same = EnvironmentSpec("job", "3.11", ("b==2", "a==1"))
    other = EnvironmentSpec("job", "3.10", ("a==1", "b==2"))
    assert one.digest == same.digest != other.digest
    assert one.pinned("A") == "1" and one.pinned("c") is None
    assert one.requirements() == "a==1\nb==2\n"


def test_unknown_python_names_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"pyenv install 3\.99"):
        find_python("3.99")


def test_twin_runs_on_its_own_python_once_built(tmp_path: Path) -> None:
    spec = EnvironmentSpec("probe", "3.10", ())
    twin = ensure_twin(spec, root=tmp_path, quiet=True)
    done = twin.run(
        ['python -c "import sys; print(sys.version_info[:2], sys.prefix)"'],
        cwd=tmp_path,
        shell=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("(3, 10)")
    assert str(twin.root) in done.stdout
    marker = (twin.root / "twin.json").stat().st_mtime_ns
    assert ensure_twin(spec, root=tmp_path, quiet=True).root == twin.root
    assert (twin.root / "twin.json").stat().st_mtime_ns == marker  # reused, not rebuilt


def test_a_command_cannot_import_the_callers_packages(tmp_path: Path) -> None:
    twin = ensure_twin(EnvironmentSpec("probe", "3.10", ()), root=tmp_path, quiet=True)
    done = twin.run(["python", "-c", "import cloudml_edu"], cwd=tmp_path)
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr
