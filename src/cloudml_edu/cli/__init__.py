"""The ``cloudml-edu`` command line: the Python API, one command per step of the lab.

Every command prints a one-line error and exits non-zero on failure (the
traceback only with ``--debug``, accepted anywhere on the line), and every command
takes ``--json``: then stdout holds one JSON document and nothing else (progress,
notes and logs go to stderr, as always).  Heavy
libraries are imported inside commands, so ``cloudml-edu --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cloudml_edu._version import __version__
from cloudml_edu.cli import _common
from cloudml_edu.cli.cleanup import cleanup_command
from cloudml_edu.cli.dataset import app as dataset_app
from cloudml_edu.cli.doctor import doctor_command
from cloudml_edu.cli.endpoint import deploy_command, endpoint_app, predict_command
from cloudml_edu.cli.handin import handin_command
from cloudml_edu.cli.init import init_command
from cloudml_edu.cli.repair import repair_command
from cloudml_edu.cli.report import compare_command, powerbi_app, report_command
from cloudml_edu.cli.train import runs_app, train_command

__all__ = ["INTERRUPTED", "app", "main", "without_debug"]

#: The exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def _flags_without_types() -> None:
    """Help lists a flag without a ``<bool>`` type: a flag takes no value (typer shows one)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display(self: TyperOption, ctx: typer.Context) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display  # type: ignore[method-assign,assignment]


_flags_without_types()

app = typer.Typer(
    name="cloudml-edu",
    help="Train, deploy and compare image classifiers: locally, on Azure ML and on Databricks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cloudml-edu {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks on errors (anywhere on the line).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """cloudml-edu: one script, any backend."""
    if debug:
        os.environ["CLOUDML_DEBUG"] = "1"


@app.command("demo")
def demo_command(
    data: Annotated[Path, typer.Option(help="Where the sample images are written.")] = Path(
        "data/digits"
    ),
    root: Annotated[Path, typer.Option(help="The local workspace folder.")] = Path(".cloudml"),
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", "-b", help="Backends to run (default: all three)."),
    ] = None,
    deploy: Annotated[bool, typer.Option(help="Deploy the best model and predict.")] = True,
    keep_endpoint: Annotated[bool, typer.Option(help="Leave the endpoint running.")] = False,
    automl_minutes: Annotated[float, typer.Option(help="AutoML time budget.")] = 1.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run the whole lab locally: sample, upload, train three ways, compare, deploy, predict."""
    from rich.console import Console

    from cloudml_edu.demo import BACKENDS, run_demo
    from cloudml_edu.workspace import Workspace

    console = Console(stderr=json_output, quiet=json_output)
    result = run_demo(
        Workspace.local(root),
        data_dir=data,
        backends=tuple(backend or BACKENDS),
        deploy=deploy,
        keep_endpoint=keep_endpoint,
        automl_minutes=automl_minutes,
        console=console,
        progress=None if not json_output else False,
    )
    if json_output:
        _common.print_json(result.model_dump(mode="json"))
        return
    from cloudml_edu.demo import next_steps

    console.rule("where things are")
    for what, command in next_steps(result.workspace):
        # one unwrapped, unstyled line each, so a command can be copied as printed
        console.print(f"{what:<15}{command}", soft_wrap=True, markup=False, highlight=False)


app.command("doctor")(doctor_command)
app.command("train")(train_command)
app.add_typer(runs_app, name="runs")
app.add_typer(dataset_app, name="dataset", help="Upload and manage image datasets.")
app.command("deploy")(deploy_command)
app.command("predict")(predict_command)
app.add_typer(endpoint_app, name="endpoint", help="List and delete endpoints.")
app.command("compare")(compare_command)
app.command("report")(report_command)
app.add_typer(powerbi_app, name="powerbi", help="Export to and push to Power BI.")
app.command("cleanup")(cleanup_command)
app.command("handin")(handin_command)
app.command("init")(init_command)
app.command("repair")(repair_command)


def without_debug(args: list[str]) -> tuple[list[str], bool]:
    """``args`` without ``--debug``, wherever it stands before a ``--``, and whether it was there.

    So ``cloudml-edu train X --debug`` works as well as ``cloudml-edu --debug train X``.
    """
    end = args.index("--") if "--" in args else len(args)
    kept = [a for a in args[:end] if a != "--debug"] + args[end:]
    return kept, len(kept) != len(args)


def main() -> None:
    """Console-script entry point: one-line errors, exit codes, ``--debug`` tracebacks.

    Run outside click's standalone mode, so that Ctrl-C (which typer turns into exit
    code 130, and into ``Abort`` at a prompt) prints "interrupted" and exits 130,
    instead of nothing (or "Aborted!" and 1).
    """
    from typer import rich_utils
    from typer._click.exceptions import ClickException  # typer's own copy of click

    from cloudml_edu._quiet import quiet_sdk_chatter

    args, debug = without_debug(sys.argv[1:])
    if debug:
        os.environ["CLOUDML_DEBUG"] = "1"
    quiet_sdk_chatter(debug=bool(os.environ.get("CLOUDML_DEBUG")))
    _common.keep_stdout_for_json(args)
    try:
        code = app(args=args, prog_name="cloudml-edu", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        code = INTERRUPTED
    except ClickException as exc:  # usage errors: formatted as typer would
        rich_utils.rich_format_error(exc)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("CLOUDML_DEBUG"):
            raise
        _common.error_line(_common.describe_error(exc))
        sys.exit(1)
    if code == INTERRUPTED:
        _common.error_line("interrupted")
    sys.exit(code if isinstance(code, int) else 0)
