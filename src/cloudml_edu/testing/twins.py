"""Twins: virtual environments built from a cloud target's own environment spec.

A fake never invents what the cloud computes; it runs the job's code where the
cloud would, in a twin: a venv with the spec's Python version (found through
pyenv, or ``python3.X`` on PATH) and its exact pins.  A twin is built once per
spec digest and cached (``$CLOUDML_TWIN_CACHE``, else ``~/.cache/cloudml-edu/twins``),
so later test sessions, CI steps and xdist workers reuse it; concurrent builders
wait on a file lock.

>>> twin = ensure_twin(AZURE_JOB_ENVIRONMENT)  # doctest: +SKIP
>>> twin.run(["python", "-c", "import sklearn"], cwd=tmp_path)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloudml_edu._locks import file_lock
from cloudml_edu.environments import EnvironmentSpec
from cloudml_edu.errors import ConfigError, TimeoutError

__all__ = ["Twin", "cache_root", "ensure_twin", "find_python"]

_MARKER = "twin.json"
#: A cold build downloads and installs a few hundred MB; bounded all the same.
BUILD_TIMEOUT = 1800.0


def cache_root() -> Path:
    """Where twins are kept: ``$CLOUDML_TWIN_CACHE`` or ``~/.cache/cloudml-edu/twins``."""
    configured = os.environ.get("CLOUDML_TWIN_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "cloudml-edu" / "twins"


def find_python(version: str) -> Path:
    """An interpreter of ``version`` (``"3.10"``): pyenv's newest patch release, else PATH."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(
        (
            p
            for p in (pyenv_root / "versions").glob(f"{version}.*")
            if p.name[len(version) + 1 :].isdigit()
        ),
        key=lambda p: int(p.name.rsplit(".", 1)[1]),
    )
    for folder in reversed(candidates):
        python = folder / "bin" / "python"
        if python.exists():
            return python
    on_path = shutil.which(f"python{version}")
    if on_path:
        return Path(on_path)
    raise ConfigError(
        f"a twin needs Python {version}, which is not installed here; install it "
        f"(`pyenv install {version}`, or your system's python{version} package) and retry"
    )


@dataclass(frozen=True)
class Twin:
    """A built twin: ``root`` is the venv, ``python`` its interpreter."""

    spec: EnvironmentSpec
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The process environment of a command in the twin: its bin first, no user site,
        no PYTHONPATH from the caller (the job's code comes in through ``extra``)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        env["PYTHONNOUSERSITE"] = "1"
        env.update(extra or {})
        return env

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
        shell: bool = False,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` (or, with ``shell=True``, ``bash -c argv[0]``) in the twin; output captured,
        ``input`` (if any) sent to its standard input."""
        command = ["bash", "-c", argv[0]] if shell else list(argv)
        try:
            return subprocess.run(
                command,
                cwd=cwd,
                env=self.environ(env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                input=input,
            )
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(
                f"a command in the {self.spec.name} twin ran past {timeout:g} s: {' '.join(command)[:200]}"
            ) from exc


def ensure_twin(spec: EnvironmentSpec, *, root: Path | None = None, quiet: bool = False) -> Twin:
    """The twin of ``spec``, built first if this machine has none (minutes, once)."""
    folder = (root or cache_root()) / f"{spec.name}-py{spec.python}-{spec.digest}"
    twin = Twin(spec, folder)
    if (folder / _MARKER).exists():
        return twin
    folder.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(folder.parent / f"{folder.name}.lock", timeout=BUILD_TIMEOUT):
        if (folder / _MARKER).exists():
            return twin
        _build(twin, quiet=quiet)
    return twin


def _build(twin: Twin, *, quiet: bool) -> None:
    spec = twin.spec
    shutil.rmtree(twin.root, ignore_errors=True)  # a half-built twin from a killed build
    python = find_python(spec.python)
    started = time.monotonic()
    if not quiet:
        print(
            f"building the {spec.name} twin (Python {spec.python}, {len(spec.pins)} pins) in {twin.root}; once per spec",
            file=sys.stderr,
        )
    subprocess.run([str(python), "-m", "venv", str(twin.root)], check=True, timeout=300)
    packages = [*spec.pins, *spec.twin_only]
    if packages:
        _pip_install(twin, packages)
    seconds = time.monotonic() - started
    (twin.root / _MARKER).write_text(
        json.dumps(
            {
                "name": spec.name,
                "python": spec.python,
                "pins": list(spec.pins),
                "twin_only": list(spec.twin_only),
                "build_seconds": round(seconds, 1),
            },
            indent=2,
        )
    )
    if not quiet:
        print(f"built the {spec.name} twin in {seconds:.0f} s", file=sys.stderr)


def _pip_install(twin: Twin, packages: Sequence[str]) -> None:
    pip = [str(twin.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "--no-input", *packages],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(twin.root, ignore_errors=True)
        raise ConfigError(
            f"could not build the {twin.spec.name} twin: pip said\n{done.stderr.strip()[-2000:]}\n"
            "check the network to the package index and the pins, and retry"
        )
