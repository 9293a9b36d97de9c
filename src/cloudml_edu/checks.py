"""The record of one preflight check (``cloudml-edu doctor``, ``Workspace.check()``).

Each cloud target's package has a ``doctor`` module whose ``checks(workspace)`` returns
a list of :class:`Check`: one line each, what was checked, whether it passed, and the
next step (and who must take it: the student or an admin).  Checks cost nothing:
they read, list and ask, and never create or start anything billed.
"""

from __future__ import annotations

import sys
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


def run_checks(
    workspace: Workspace, *, targets: list[str] | None = None, cheap: bool = False
) -> list[Check]:
    """Every configured cloud target's checks (its ``Target.doctor``), or those of ``targets``.

    ``cheap`` runs only a target's ``cheap_checks`` (sign-in, tenant, roles: what
    ``train`` asks before submitting), when its doctor module has them.  Settings still
    holding an ``init`` placeholder (``<...>``) are one failed line each, and that
    target is not asked anything.  A target without a doctor is skipped; one whose
    checks raise gives a failed check naming the error, so one broken target never
    hides another's lines.
    """
    from cloudml_edu._lazy import import_string
    from cloudml_edu.config_templates import placeholders
    from cloudml_edu.targets import configured_targets, get_target

    chosen = (
        [get_target(name) for name in targets]
        if targets is not None
        else [t for t in configured_targets(workspace.config) if t.section is not None]
    )
    left = placeholders(workspace.config)
    found: list[Check] = []
    for target in chosen:
        unset = [name for name in left if target.section and name.startswith(f"{target.section}.")]
        if unset:
            found.extend(
                Check(
                    target.name,
                    "settings",
                    "fail",
                    f"{name} is still a placeholder",
                    "replace the <...> value in cloudml.toml (you)",
                )
                for name in unset
            )
            continue
        if target.doctor is None:
            continue
        try:
            doctor = import_string(target.doctor, extra=target.extra, what=f"{target.title} doctor")
            if cheap:  # the doctor module's cheap_checks, when it has them
                doctor = getattr(sys.modules[doctor.__module__], "cheap_checks", doctor)
            found.extend(doctor(workspace))
        except Exception as exc:  # a check that breaks is a failed check, not a crash
            found.append(Check(target.name, "doctor", "fail", f"{type(exc).__name__}: {exc}"))
    return found
