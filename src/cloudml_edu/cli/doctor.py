"""``cloudml-edu doctor``: check sign-in, roles, quota and environments before anything is billed."""

from __future__ import annotations

import typer

from cloudml_edu.cli._common import ConfigOption, JsonOption, print_json, workspace_from_option

__all__ = ["doctor_command"]


def doctor_command(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Check each configured cloud target (costs nothing); exit 1 when a check fails."""
    ws = workspace_from_option(config)
    found = ws.check()
    if json_output:
        print_json({"checks": [c.as_dict() for c in found], "ok": all(c.ok for c in found)})
    else:
        if not found:
            typer.echo("no cloud target configured: the local lab needs no checks")
        for check in found:
            typer.echo(check.line())
    if not all(c.ok for c in found):
        raise typer.Exit(1)
