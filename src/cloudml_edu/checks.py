"""The record of one preflight check (``cloudml-edu doctor``, ``Workspace.check()``).

Each cloud target's package has a ``doctor`` module whose ``checks(workspace)`` returns
a list of :class:`Check`: one line each, what was checked, whether it passed, and the
next step (and who must take it: the student or an admin).  Checks cost nothing:
they read, list and ask, and never create or start anything billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Check", "CheckStatus"]

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
