"""The record of one preflight check (``cloudml-edu doctor``, ``Workspace.check()``).

Each cloud target's package has a ``doctor`` module whose ``checks(workspace)`` returns
a list of :class:`Check`: one line each, what was checked, whether it passed, and the
next step (and who must take it: the student or an admin).  Checks cost nothing:
they read, list and ask, and never create or start anything billed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cloudml_edu.workspace import Workspace

__all__ = ["Check", "CheckStatus", "run_checks"]

CheckStatus = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One preflight check: ``target`` and ``name`` say what, ``status`` how it went.

    ``detail`` is what was found; ``next_step`` (empty when ``ok``) is what to do,
    naming who does it (``"ask a workspace admin to ..."``) when the student cannot.
    """

    target: str
    name: str
    status: CheckStatus
    detail: str
    next_step: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skip", "warn")

    def line(self) -> str:
        """The one line ``doctor`` prints."""
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}[self.status]
        tail = f" -> {self.next_step}" if self.next_step else ""
        return f"[{mark}] {self.target} {self.name}: {self.detail}{tail}"

    def as_dict(self) -> dict[str, str]:
        return {
            "target": self.target,
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "next_step": self.next_step,
        }


#: Config section -> target name, for the targets a workspace configures.
_TARGETS = {"azure_ml": "azureml", "databricks": "databricks"}


def configured_targets(workspace: Workspace) -> list[str]:
    """The cloud targets whose section the workspace's config has."""
    return [t for section, t in _TARGETS.items() if getattr(workspace.config, section, None)]


def run_checks(
    workspace: Workspace, *, targets: list[str] | None = None, cheap: bool = False
) -> list[Check]:
    """Every configured target's checks (``cloudml_edu.backends.<target>.doctor:checks``).

    ``cheap`` runs only a target's ``cheap_checks`` (sign-in, tenant, roles: what
    ``train`` asks before submitting), when it has them.  A target without a doctor
    module is skipped; one whose checks raise gives a failed check naming the error,
    so one broken target never hides another's lines.
    """
    found: list[Check] = []
    for target in targets if targets is not None else configured_targets(workspace):
        try:
            module = importlib.import_module(f"cloudml_edu.backends.{target}.doctor")
        except ModuleNotFoundError as exc:
            if exc.name == f"cloudml_edu.backends.{target}.doctor":
                continue
            found.append(
                Check(
                    target,
                    "install",
                    "fail",
                    str(exc),
                    f"pip install 'cloudml-edu[{_EXTRA.get(target, target)}]'",
                )
            )
            continue
        run = getattr(module, "cheap_checks", None) if cheap else None
        try:
            found.extend((run or module.checks)(workspace))
        except Exception as exc:  # a check that breaks is a failed check, not a crash
            found.append(Check(target, "doctor", "fail", f"{type(exc).__name__}: {exc}"))
    return found


_EXTRA = {"azureml": "azure", "databricks": "databricks"}
