"""The command-line reference page, generated from the Typer app so it cannot drift.

``render()`` walks ``cloudml_edu.cli.app`` as click commands and writes one section
per command (usage, help, arguments, every option).  Typer ships its own copy of
click, so commands and parameters are recognised by what they have, not by class.  The docs build calls it
(``tools/docs_hooks.py``); ``python tools/cli_reference.py`` prints it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.main

PROG = "cloudml-edu"


def commands(root: Any, ctx: Any = None) -> Iterator[Any]:
    """A click context for ``root`` and every command below it, depth first, in listing order."""
    ctx = ctx or root.context_class(root, info_name=PROG)
    yield ctx
    if hasattr(root, "list_commands"):
        for name in root.list_commands(ctx):
            child = root.get_command(ctx, name)
            if child is not None and not child.hidden:
                yield from commands(child, child.context_class(child, info_name=name, parent=ctx))


def root_command() -> Any:
    """The click command behind ``cloudml-edu``."""
    from cloudml_edu.cli import app

    return typer.main.get_command(app)


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _param_rows(ctx: Any) -> list[str]:
    """One table row per argument and option, as ``--help`` shows them (default included)."""
    rows = []
    for param in ctx.command.get_params(ctx):
        record = None if getattr(param, "hidden", False) else param.get_help_record(ctx)
        if record is not None:
            names, help_text = record
            rows.append(f"| `{_cell(names)}` | {param.param_type_name} | {_cell(help_text)} |")
    return rows


def render(root: Any = None) -> str:
    """The whole reference as Markdown."""
    root = root or root_command()
    out = [
        "# Command line reference",
        "",
        f"Generated from the Typer app (`cloudml_edu.cli.app`) by `python tools/docs_blocks.py` (a test keeps it in sync): every "
        f"command of `{PROG}` and every option. `{PROG} COMMAND --help` shows the same in a "
        "terminal.",
        "",
    ]
    for ctx in commands(root):
        path = ctx.command_path
        depth = min(path.count(" ") + 1, 4)
        out += [f"{'#' * (depth + 1) if depth > 1 else '##'} `{path}`", ""]
        help_text = (ctx.command.help or "").strip()
        if help_text:
            out += [help_text, ""]
        out += ["```text", ctx.get_usage(), "```", ""]
        rows = _param_rows(ctx)
        if rows:
            out += ["| name | kind | help |", "|---|---|---|", *rows, ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render())
