"""A dry run's record: what ``fit`` would create and run, on what compute, at what cost."""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field, model_validator

from cloudml_edu._paths import ensure_dir, user_paths
from cloudml_edu._secrets import redact, redact_data
from cloudml_edu.errors import ConfigError
from cloudml_edu.targets import TargetName

__all__ = ["PLAN_FILE", "Plan", "PlanStep"]

#: The plan itself, as JSON, in every folder ``Plan.write`` fills.
PLAN_FILE = "plan.json"


class PlanStep(BaseModel):
    """One thing ``fit`` would do or create, with the request it would send."""

    name: str
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Plan(BaseModel):
    """A dry run: what ``fit`` would create and run, on what compute, at what estimated cost."""

    backend: str
    target: TargetName
    dataset: str
    steps: list[PlanStep]
    compute_sku: str = "local"
    nodes: int = 1
    estimated_minutes: float = 0.0
    estimated_cost_usd: float = 0.0
    price_source: str = ""
    files: dict[str, str] = Field(
        default_factory=dict,
        description="What `write` puts in a folder besides plan.json: relative path -> text "
        "(Azure ML CLI v2 YAML for a cloud plan)",
    )

    @model_validator(mode="after")
    def _without_secrets(self) -> Plan:
        """Every request body and file of a plan with its credentials replaced by ``***``
        (see :func:`~cloudml_edu._secrets.redact_data`): a plan is shown, written
        (plan.json, job.yml) and kept on the run, never with a secret in it."""
        for step in self.steps:
            step.detail = redact_data(step.detail)
        self.files = {rel: redact(text) for rel, text in self.files.items()}
        return self

    def __str__(self) -> str:
        lines = [
            f"plan: {self.backend} on {self.target} for dataset {self.dataset}",
            f"compute: {self.nodes} x {self.compute_sku}, ~{self.estimated_minutes:.1f} min, "
            f"estimated cost ${self.estimated_cost_usd:.2f}",
        ]
        lines += [f"  {i}. {step.name}: {step.action}" for i, step in enumerate(self.steps, 1)]
        if self.files:
            lines.append("files: " + ", ".join(sorted(self.files)))
        return "\n".join(lines)

    def write(self, folder: str | os.PathLike[str]) -> builtins.list[Path]:
        """Write ``plan.json`` and :attr:`files` into ``folder`` (secrets redacted); return the
        paths written.

        The folder is created and checked writable first; every file is written
        to a staging folder inside it and moved into place only when all are
        written, so a failure (a full disk) leaves no half-written set.
        """
        documents = {
            rel: redact(text)
            for rel, text in {
                PLAN_FILE: self.model_dump_json(indent=1, exclude={"files"}),
                **self.files,
            }.items()
        }
        for rel in documents:
            parts = PurePosixPath(rel).parts
            if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
                raise ConfigError(f"plan file {rel!r} is not a relative path inside the folder")
        target = ensure_dir(folder, what="plan folder")
        written: builtins.list[Path] = []
        with user_paths(target, what="plan folder"):
            staging = Path(tempfile.mkdtemp(prefix=".plan-", dir=target))
            try:
                for rel, text in documents.items():
                    staged = staging / rel
                    staged.parent.mkdir(parents=True, exist_ok=True)
                    staged.write_text(text, encoding="utf-8")
                for rel in documents:
                    final = target / rel
                    final.parent.mkdir(parents=True, exist_ok=True)
                    (staging / rel).replace(final)
                    written.append(final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return written

    def __repr__(self) -> str:
        from cloudml_edu._notebook import plan_repr

        return plan_repr(self)

    def _repr_html_(self) -> str:
        from cloudml_edu._notebook import plan_html

        return plan_html(self)
