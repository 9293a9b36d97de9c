"""``cloudml-edu deploy``, ``predict`` and ``endpoint list|delete``.

A deployed endpoint keeps running after ``deploy`` returns, so the commands
chain: ``deploy RUN_ID --name digits``, then ``predict digits img.png``, then
``endpoint delete digits``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cloudml_edu.cli._common import (
    ConfigOption,
    JsonOption,
    fail,
    print_json,
    workspace_from_option,
)
from cloudml_edu.errors import CloudMLError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu.endpoint import Endpoint
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.workspace import Workspace

__all__ = ["delete_command", "deploy_command", "endpoint_app", "list_command", "predict_command"]


endpoint_app = typer.Typer(no_args_is_help=True, help="List and delete endpoints.")


def _describe(endpoint: Endpoint, state: str) -> dict[str, object]:
    return {**endpoint.record.model_dump(mode="json"), "state": state}


def _run_or_model(ws: Workspace, model: str) -> TrainingRun | str:
    """The run a short id (as ``cloudml-edu runs`` prints it) names; anything else unchanged."""
    from cloudml_edu.run import TrainingRun

    if Path(model).exists() or not re.fullmatch(r"[0-9a-fA-F]{4,32}", model):
        return model
    return TrainingRun.get(ws, model)


def deploy_command(
    model: Annotated[
        str,
        typer.Argument(
            metavar="RUN_ID_OR_MODEL_URI",
            help="A run id or a unique prefix of 4+ characters (serves the run's model), an MLflow model URI or a model folder.",
        ),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The endpoint's name, e.g. digits.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Stop a running endpoint of that name first.")
    ] = False,
    target: Annotated[
        str | None,
        typer.Option(help="local, azureml or databricks (default: where the run trained)."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds to wait for the endpoint (default 120 locally, 3600 in the cloud)."
        ),
    ] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Serve a model (locally: on 127.0.0.1); it runs until `cloudml-edu endpoint delete NAME`."""
    from cloudml_edu.endpoint import Endpoint

    try:
        ws = workspace_from_option(config)
        endpoint = Endpoint.deploy(
            _run_or_model(ws, model),
            workspace=ws,
            name=name,
            target=target,
            replace=replace,
            timeout=timeout,
            progress=False if json_output else None,
        )
    except CloudMLError as exc:
        fail(exc)
    if json_output:
        print_json(_describe(endpoint, "live"))
        return
    typer.echo(
        f"endpoint {name} ({endpoint.target}) is live at {endpoint.url} serving {endpoint.model_uri}"
    )
    typer.echo(f"  predict:  cloudml-edu predict {name} IMAGE...")
    typer.echo(f"  stop it:  cloudml-edu endpoint delete {name}")


def predict_command(
    name: Annotated[str, typer.Argument(help="The endpoint's name.")],
    images: Annotated[list[Path], typer.Argument(help="Image files (PNG, JPEG...).")],
    batch_size: Annotated[int, typer.Option(help="Images per request.")] = 32,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Classify image files with a deployed endpoint."""
    from cloudml_edu.endpoint import Endpoint

    try:
        endpoint = Endpoint.get(workspace_from_option(config), name)
        found = endpoint.predict_batch(
            images, batch_size=batch_size, progress=False if json_output else None
        )
    except CloudMLError as exc:
        fail(exc)
    if json_output:
        print_json(
            [{"image": str(path), **p.model_dump()} for path, p in zip(images, found, strict=True)]
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("image", "label", "score")
    for path, prediction in zip(images, found, strict=True):
        table.add_row(str(path), prediction.label, f"{prediction.score:.3f}")
    Console().print(table)


@endpoint_app.command("list")
def list_command(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """List the workspace's endpoints and whether each is live."""
    from cloudml_edu.endpoint import Endpoint

    try:
        found = [
            (endpoint, str(endpoint.state))
            for endpoint in Endpoint.list(workspace_from_option(config))
        ]
    except CloudMLError as exc:
        fail(exc)
    if json_output:
        print_json([_describe(endpoint, state) for endpoint, state in found])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "target", "state", "age", "$/hour", "url", "model")
    colors = {"live": "green", "creating": "yellow"}
    for endpoint, state in found:
        table.add_row(
            endpoint.name,
            endpoint.target,
            f"[{colors.get(state, 'red')}]{state}[/]",
            _age(endpoint.record.created),
            f"{endpoint.record.hourly_usd:.3f}",
            endpoint.url,
            endpoint.model_uri,
        )
    Console().print(table)
    billed = sum(e.record.hourly_usd for e, state in found if state in ("live", "creating"))
    if billed:
        Console().print(
            f"running endpoints cost ${billed:.2f}/hour; `cloudml-edu cleanup` removes them"
        )


def _age(created: datetime) -> str:
    """How long ago ``created`` was: ``45 s``, ``12 min``, ``3.5 h``, ``2.0 d``."""
    seconds = max((datetime.now(UTC) - created).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@endpoint_app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="The endpoint's name.")],
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Stop an endpoint (its server or cloud deployment) and forget it; fine if already gone."""
    from cloudml_edu.endpoint import Endpoint

    try:
        Endpoint.get(workspace_from_option(config), name).delete()
        deleted, message = True, f"endpoint {name} deleted"
    except NotFoundError as exc:
        deleted, message = False, f"nothing to delete: {exc}"
    except CloudMLError as exc:
        fail(exc)
    if json_output:
        print_json({"name": name, "deleted": deleted, "message": message})
    else:
        typer.echo(message)
