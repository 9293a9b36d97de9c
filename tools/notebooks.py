"""Execute the course notebooks top to bottom, in a scratch folder, and keep the outputs.

Used by the notebook test (fails on the first cell that raises) and by the docs
build, which shows ``examples/week3_lab.ipynb`` with the outputs of a fresh run:
``python tools/notebooks.py examples/week3_lab.ipynb OUT.ipynb``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "examples" / "week3_lab.ipynb"
#: Where the docs build keeps the executed lab between builds.
EXECUTED_LAB = ROOT / "build" / "docs" / "lab" / "week3_lab.ipynb"
#: The whole notebook must finish within this (the course's promise: a lab in minutes).
BUDGET_SECONDS = 120.0


def execute(
    source: Path, *, workdir: Path, cell_timeout: float = BUDGET_SECONDS
) -> tuple[nbformat.NotebookNode, float]:
    """Run every cell of ``source`` with ``workdir`` as the kernel's folder; (notebook, seconds).

    Raises ``nbclient.exceptions.CellExecutionError`` at the first failing cell.
    Progress bars stay on (they render as HTML in the notebook); MLflow's INFO
    chatter is turned down as the command line does.
    """
    notebook = nbformat.read(source, as_version=4)  # type: ignore[no-untyped-call]
    env = {k: v for k, v in os.environ.items() if k != "CLOUDML_NO_PROGRESS"}
    env.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    # tqdm (imported by MLflow) warns in any kernel without ipywidgets; not the lab's business.
    env.setdefault("PYTHONWARNINGS", "ignore:IProgress not found")
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.monotonic()
    client.execute(env=env)
    return notebook, time.monotonic() - start


def _stale(target: Path) -> bool:
    if not target.is_file():
        return True
    built = target.stat().st_mtime
    sources = [LAB, *(ROOT / "src").rglob("*.py")]
    return any(path.stat().st_mtime > built for path in sources)


def run_lab(workdir: Path) -> tuple[nbformat.NotebookNode, float]:
    """Execute the lab in ``workdir`` and keep the result for the docs build; (notebook, seconds)."""
    notebook, seconds = execute(LAB, workdir=workdir)
    EXECUTED_LAB.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, EXECUTED_LAB)  # type: ignore[no-untyped-call]
    return notebook, seconds


def executed_lab() -> Path:
    """The lab notebook with fresh outputs, run again only when it or the library changed."""
    if _stale(EXECUTED_LAB):
        with tempfile.TemporaryDirectory(prefix="week3-lab-") as folder:
            run_lab(Path(folder))
    return EXECUTED_LAB


if __name__ == "__main__":
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="notebook-") as folder:
        done, seconds = execute(source, workdir=Path(folder))
    nbformat.write(done, target)  # type: ignore[no-untyped-call]
    print(f"{source} ran in {seconds:.1f} s -> {target}")
