"""Install a built wheel into a fresh venv outside the source tree and run the lab from it.

    python tools/wheel_check.py dist/cloudml_edu-X.Y.Z-py3-none-any.whl

Checks that the wheel holds every file of the package (``py.typed``, data files such as
component YAML and job scripts, not only ``.py``), then, in a temporary folder with no
``PYTHONPATH`` and no access to the source tree's packages, runs ``cloudml-edu demo``
and ``examples/quickstart.py`` with the installed package.  Prints the time of each step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "cloudml_edu"


def package_files() -> set[str]:
    """Every file the package should ship, as wheel paths (``cloudml_edu/...``)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", str(PACKAGE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {Path(name).relative_to("src").as_posix() for name in listed}


def check_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    missing = sorted(package_files() - shipped)
    if missing:
        sys.exit(f"the wheel lacks {len(missing)} package file(s): {missing[:10]}")
    if "cloudml_edu/py.typed" not in shipped:
        sys.exit("the wheel lacks cloudml_edu/py.typed")
    print(f"wheel holds all {len(package_files())} package files, py.typed included")


def run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    start = time.monotonic()
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    print(f"{' '.join(Path(c).name for c in command[:3])}: {time.monotonic() - start:.1f} s")
    return done.stdout


def main(wheel: Path) -> None:
    check_contents(wheel)
    with tempfile.TemporaryDirectory(prefix="cloudml-wheel-") as folder:
        work = Path(folder)
        venv.create(work / "venv", with_pip=True, system_site_packages=False)
        bin_dir = work / "venv" / "bin"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env.update(CLOUDML_NO_PROGRESS="1", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
        pip = [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        run([*pip, str(wheel.resolve())], cwd=work, env=env, timeout=1200)
        where = run(
            [str(bin_dir / "python"), "-c", "import cloudml_edu; print(cloudml_edu.__file__)"],
            cwd=work,
            env=env,
            timeout=60,
        ).strip()
        if not where.startswith(str(work)) or str(ROOT) in where:
            sys.exit(f"imported cloudml_edu from {where}, not from the fresh venv")
        demo = run(
            [str(bin_dir / "cloudml-edu"), "demo", "--json", "--automl-minutes", "0.5"],
            cwd=work,
            env=env,
            timeout=600,
        )
        result = json.loads(demo)
        accuracies = {r["backend"]: r["metrics"]["accuracy"] for r in result["runs"]}
        if set(accuracies) != {"designer", "sdk", "automl"} or min(accuracies.values()) < 0.9:
            sys.exit(f"demo from the wheel gave {accuracies}")
        example = work / "quickstart.py"
        example.write_bytes((ROOT / "examples" / "quickstart.py").read_bytes())
        out = run(
            [str(bin_dir / "python"), str(example), "designer"], cwd=work, env=env, timeout=600
        )
        if "designer: accuracy 0.9" not in out or out.count("predicted") != 5:
            sys.exit(f"quickstart from the wheel printed:\n{out}")
        print(f"wheel check passed: demo {accuracies}, quickstart ok, from {where}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
