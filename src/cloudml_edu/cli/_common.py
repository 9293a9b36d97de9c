"""Helpers shared by the CLI commands: the workspace option, JSON output, one-line errors.

Kept free of heavy imports: ``cloudml-edu --help`` loads this module.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer

if TYPE_CHECKING:
    from cloudml_edu.config import CloudMLConfig
    from cloudml_edu.workspace import Workspace

__all__ = [
    "ConfigOption",
    "JsonOption",
    "config_from_option",
    "describe_error",
    "error_line",
    "fail",
    "keep_stdout_for_json",
    "print_json",
    "workspace_from_option",
]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="cloudml.toml (default: ./cloudml.toml if present, else a local workspace).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def config_from_option(config: Path | None) -> CloudMLConfig:
    """The settings :func:`workspace_from_option` would use, without creating the workspace
    folder (instructor commands reading handed-in folders leave the current folder alone)."""
    from cloudml_edu.config import load_config
    from cloudml_edu.workspace import DEFAULT_CONFIG

    if config is None and "CLOUDML_CONFIG" not in os.environ and not Path(DEFAULT_CONFIG).is_file():
        return load_config(None)
    return load_config(
        config if config is not None else os.environ.get("CLOUDML_CONFIG", DEFAULT_CONFIG)
    )


def workspace_from_option(config: Path | None) -> Workspace:
    """The workspace of ``--config PATH``, else ``$CLOUDML_CONFIG`` or ``./cloudml.toml`` if
    present, else the ``CLOUDML_*`` environment variables (a local ``.cloudml/`` by default)."""
    from cloudml_edu.workspace import Workspace

    return Workspace(config_from_option(config))


#: The real stdout while a ``--json`` command runs with everything else sent to stderr.
_json_stdout: TextIO | None = None


def keep_stdout_for_json(args: list[str]) -> None:
    """Under ``--json``, send anything but the JSON document to stderr.

    An SDK may print on stdout while it works (azure-ai-ml prints a dot per poll of an
    endpoint deployment); with stdout pointed at stderr, ``--json`` output stays one
    JSON document whatever a library prints.
    """
    global _json_stdout
    if "--json" in args and _json_stdout is None:
        _json_stdout, sys.stdout = sys.stdout, sys.stderr


def print_json(obj: Any) -> None:
    """Write ``obj`` as indented JSON on stdout (dates and paths as strings)."""
    (_json_stdout or sys.stdout).write(json.dumps(obj, indent=2, default=str) + "\n")


def error_line(message: str) -> None:
    """Print ``message`` in red on stderr."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/] {escape(message)}")


def describe_error(exc: BaseException) -> str:
    """The one line a CLI user sees for ``exc``: the error's class and its message for the
    command line (``cli_message``, naming CLI flags), or a bug note."""
    from cloudml_edu.errors import CloudMLError

    if isinstance(exc, CloudMLError):  # worded for the command line when the error says how
        return f"{type(exc).__name__}: {exc.cli_message or exc}"
    return f"unexpected {type(exc).__name__}: {exc} (a bug: rerun with --debug and report it)"


def fail(exc: BaseException) -> NoReturn:
    """Report ``exc`` as one red line and exit with status 1 (re-raise it under ``--debug``)."""
    if os.environ.get("CLOUDML_DEBUG"):
        raise exc
    error_line(describe_error(exc))
    raise typer.Exit(1) from exc
