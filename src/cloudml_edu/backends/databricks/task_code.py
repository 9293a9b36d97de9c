"""What the ``automl`` task runs, as workspace files: the task and the few modules it imports.

Nothing is installed on the cluster (an installed library would upgrade the
runtime's own packages and break AutoML), so the task's code travels as files:
``automl_task.py`` and a minimal ``cloudml_edu/`` package holding only the
modules the task and the served model import (:data:`CODE_FILES`), all plain
Python that runs on the runtime's packages.  The folder is named by the content
digest, so an unchanged library uploads nothing the second time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cloudml_edu.training.pyfunc import SHIPPED

__all__ = ["CODE_FILES", "TASK", "code_digest", "task_files"]

#: The task file, relative to the uploaded folder.
TASK = "automl_task.py"
#: The ``cloudml_edu`` modules the task imports: the served model's, plus logging and Spark features.
CODE_FILES: tuple[str, ...] = (
    *SHIPPED,
    "training/pyfunc.py",
    "training/_model_code.py",
    "training/spark_features.py",
)
_LIBRARY = Path(__file__).parents[2]


def task_files() -> dict[str, bytes]:
    """Relative path -> content of every file the task's folder holds."""
    files = {TASK: Path(__file__).with_name(TASK).read_bytes()}
    files["cloudml_edu/__init__.py"] = (
        b'"""The modules of cloudml-edu the AutoML task imports."""\n'
    )
    for name in CODE_FILES:
        for parent in Path(name).parents:
            if parent != Path():
                files.setdefault(f"cloudml_edu/{parent.as_posix()}/__init__.py", b"")
        files[f"cloudml_edu/{name}"] = (_LIBRARY / name).read_bytes()
    return files


def code_digest() -> str:
    """A short hash of :func:`task_files`: the uploaded folder's name."""
    digest = hashlib.sha256()
    for name, content in sorted(task_files().items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:10]
