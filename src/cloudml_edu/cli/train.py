"""``cloudml-edu train`` and ``cloudml-edu runs``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer

from cloudml_edu.cli._common import ConfigOption, JsonOption, print_json, workspace_from_option
from cloudml_edu.options import COLOR_MODES, PrimaryMetric, describe_colour
from cloudml_edu.training.models import DESIGNER_ALGORITHMS, FAMILIES

if TYPE_CHECKING:
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.workspace import Workspace

__all__ = ["runs_app", "train_command"]


_MODEL_HELP = (
    "Model: a scikit-learn family (sdk, default svc): "
    + ", ".join(FAMILIES)
    + "; or a Designer module (designer, default Multiclass Decision Forest; quote it or "
    "write it lower-case with dashes): " + ", ".join(DESIGNER_ALGORITHMS) + "."
)


def train_command(
    dataset: Annotated[str, typer.Argument(help="A registered dataset name, or an image folder.")],
    backend: Annotated[
        str, typer.Option("--backend", "-b", help="designer, sdk or automl.")
    ] = "designer",
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Where to train: local, azureml, databricks (or a target a package adds); "
            "default: the one configured target that offers the backend, else local.",
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help=_MODEL_HELP)] = None,
    family: Annotated[
        list[str] | None,
        typer.Option(
            "--family", help="AutoML: a family to search, repeatable (default: every family)."
        ),
    ] = None,
    max_trials: Annotated[
        int, typer.Option("--max-trials", min=1, max=500, help="AutoML: most trials (1-500).")
    ] = 12,
    timeout_minutes: Annotated[
        float,
        typer.Option(
            "--time-budget", "--timeout-minutes", min=0.01, help="AutoML: time budget in minutes."
        ),
    ] = 2.0,
    primary_metric: Annotated[
        str,
        typer.Option(
            "--primary-metric",
            help=f"The metric AutoML optimises: {', '.join(get_args(PrimaryMetric))}.",
        ),
    ] = "accuracy",
    image_size: Annotated[
        int,
        typer.Option(
            "--image-size", min=4, max=256, help="Images are resized to SIZE x SIZE (4-256)."
        ),
    ] = 16,
    color_mode: Annotated[
        str,
        typer.Option(
            "--color-mode",
            help="auto (RGB when the images are in colour, else grayscale), L (grayscale) or "
            "RGB; any case.",
        ),
    ] = "auto",
    gradients: Annotated[
        bool, typer.Option(help="Add gradient-orientation histograms to the pixels.")
    ] = True,
    seed: Annotated[int, typer.Option(help="Split and model seed.")] = 0,
    test_size: Annotated[
        float, typer.Option(min=0.01, max=0.99, help="Share of images held out for testing.")
    ] = 0.2,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Image folder: skip unreadable files (with a warning)."
        ),
    ] = False,
    plan: Annotated[
        bool, typer.Option("--plan", help="Only show what would run and cost.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="With --plan: write plan.json and the Azure ML CLI v2 YAML into this folder.",
        ),
    ] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Train a classifier with one backend (or show its plan)."""
    from rich.console import Console

    from cloudml_edu.config_templates import placeholders, with_placeholders
    from cloudml_edu.errors import ConfigError
    from cloudml_edu.trainer import Trainer, as_dataset
    from cloudml_edu.workspace import Workspace

    if out is not None and not plan:
        raise ConfigError("--out writes the files of a plan; add --plan")
    if color_mode.strip().lower() not in {m.lower() for m in COLOR_MODES}:
        raise ConfigError(
            f"--color-mode {color_mode!r} is not a colour mode; use auto, L (grayscale) or RGB"
        )
    ws = workspace_from_option(config)
    if plan and target is not None:  # a plan needs no config: the section from its template
        ws = Workspace(with_placeholders(ws.config, target))
    unfilled = placeholders(ws.config)
    if unfilled and not plan:
        raise ConfigError(
            f"the config still holds placeholders ({', '.join(unfilled)}); replace the <...> "
            "values in cloudml.toml (or look first with --plan)"
        )
    chosen: dict[str, Any] = (
        {"model": model} if model is not None else {}
    )  # else the backend's own default
    if family:
        chosen["families"] = family
    trainer = Trainer(
        backend,
        workspace=ws,
        target=target,
        max_trials=max_trials,
        timeout_minutes=timeout_minutes,
        primary_metric=primary_metric,
        image_size=image_size,
        color_mode=color_mode,
        gradients=gradients,
        seed=seed,
        test_size=test_size,
        progress=False if json_output else None,
        **chosen,
    )
    data = as_dataset(
        dataset, ws, skip_invalid=skip_invalid, progress=False if json_output else None
    )
    console = Console()
    if not json_output:  # the JSON holds the options, the colour mode decided among them
        typer.echo(
            describe_colour(trainer.options.color_mode, (r.mode for r in data.records)), err=True
        )
    if plan:
        found = trainer.plan(data)
        if unfilled:
            typer.echo(
                f"note: planned with placeholder settings ({', '.join(unfilled)}): the names "
                "in this plan are not yours until you fill them in",
                err=True,
            )
        written = found.write(out) if out is not None else []
        if json_output:
            print_json(found.model_dump(mode="json"))
        else:
            console.print(str(found))
            for path in written:
                console.print(f"wrote {path}", highlight=False)
        return
    _preflight(ws, str(trainer._backend.target))
    run = trainer.fit(data)
    if json_output:
        print_json(run.model_dump(mode="json"))
    else:
        console.print(run.summary())
        console.print(f"model: {run.model}")


def _preflight(ws: Workspace, target: str) -> None:
    """The target's cheap checks (sign-in, tenant, workspace, roles) before anything is billed."""
    from cloudml_edu.checks import run_checks
    from cloudml_edu.errors import AuthError

    if target == "local":
        return
    failed = [c for c in run_checks(ws, targets=[target], cheap=True) if not c.ok]
    if failed:
        lines = "; ".join(f"{c.name}: {c.detail} -> {c.next_step}" for c in failed)
        raise AuthError(f"{target} is not ready ({lines}); `cloudml-edu doctor` lists every check")


runs_app = typer.Typer(
    help="List training runs (local and cloud), or attach a cloud job built by hand.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@runs_app.callback()
def runs_command(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option(help="Only this owner's runs.")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """List training runs in the workspace, newest first."""
    from cloudml_edu.run import TrainingRun

    if ctx.invoked_subcommand is not None:
        return
    runs = TrainingRun.list(workspace_from_option(config), owner=owner)
    if json_output:
        print_json([r.model_dump(mode="json") for r in runs])
        return
    _print_runs(runs)


@runs_app.command("attach")
def attach_command(
    name: Annotated[str, typer.Argument(help="The job's Name (Overview tab in the studio).")],
    target: Annotated[str, typer.Option(help="The service the job ran on.")] = "azureml",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Attach a job built by hand (a Designer canvas pipeline) so `runs` and `compare` show it."""
    from cloudml_edu.run import TrainingRun

    run = TrainingRun.from_job(workspace_from_option(config), name, target=target)
    if json_output:
        print_json(run.model_dump(mode="json"))
        return
    _print_runs([run])
    if run.remote is not None and run.remote.url:
        typer.echo(f"studio: {run.remote.url}")


def _print_runs(runs: list[TrainingRun]) -> None:
    from rich.console import Console
    from rich.table import Table

    from cloudml_edu.report.comparison import model_family

    table = Table(
        "run",
        "backend",
        "target",
        "owner",
        "dataset",
        "status",
        "accuracy",
        "seconds",
        "colour",
        "size",
        "model",
    )
    for r in runs:
        accuracy = f"{r.metrics.accuracy:.4f}" if r.metrics else "-"
        backend = (
            f"{r.backend} (attached)" if r.remote is not None and r.remote.attached else r.backend
        )
        table.add_row(
            r.id[:8],
            backend,
            r.target,
            r.owner,
            r.dataset,
            r.status,
            accuracy,
            f"{r.seconds:.1f}",
            r.options.color_mode if r.options else "-",
            str(r.options.image_size) if r.options else "-",
            model_family(r),
        )
    Console().print(table)
