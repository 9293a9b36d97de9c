"""``cloudml-edu cleanup``: list what the owner left running in the clouds, then remove it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cloudml_edu.cli._common import ConfigOption, JsonOption, print_json, workspace_from_option

if TYPE_CHECKING:
    from cloudml_edu.backends.base import Billable
    from cloudml_edu.workspace import Workspace

__all__ = ["cleanup_command"]

#: Seconds to wait for each removal.
REMOVE_TIMEOUT = 900.0


def cleanup_command(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Remove without asking.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Remove everything billable the owner created: cloud endpoints and idle clusters."""
    from cloudml_edu.errors import CloudMLError, ConfigError

    ws = workspace_from_option(config)
    found = _billable(ws)
    if not json_output:
        _show(ws, found)
    if dry_run or not found:
        if json_output:
            print_json({"found": _dump(found), "removed": [], "failed": []})
        return
    if not yes:
        if json_output or not sys.stdin.isatty():
            raise ConfigError(
                f"cleanup would remove {len(found)} resource(s); pass --yes to remove them "
                "(or --dry-run to only list them)"
            )
        if not typer.confirm(f"remove these {len(found)}?", default=False):
            typer.echo("nothing removed")
            return
    removed: list[Billable] = []
    failed: list[tuple[Billable, str]] = []
    for item in found:
        try:
            _remove(ws, item)
        except CloudMLError as exc:
            failed.append((item, f"{type(exc).__name__}: {exc}"))
        else:
            removed.append(item)
            if not json_output:
                typer.echo(f"removed {item.target} {item.kind} {item.name}")
    if json_output:
        print_json(
            {
                "found": _dump(found),
                "removed": _dump(removed),
                "failed": [{**i.model_dump(), "error": e} for i, e in failed],
            }
        )
    if failed:
        for item, error in failed:
            typer.echo(f"could not remove {item.kind} {item.name}: {error}", err=True)
        raise typer.Exit(1)


def _cleaners(ws: Workspace) -> dict[str, Any]:
    """The cleanup (``billable``, ``remove``) of each target the workspace configures."""
    from cloudml_edu.targets import configured_targets

    found = configured_targets(ws.config)
    return {t.name: t.load("cleanup") for t in found if t.cleanup is not None}


def _billable(ws: Workspace) -> list[Billable]:
    return [item for cleaner in _cleaners(ws).values() for item in cleaner.billable(ws)]


def _remove(ws: Workspace, item: Billable) -> None:
    """Remove ``item``; an endpoint with a record goes through ``Endpoint.delete`` (record too)."""
    from cloudml_edu.endpoint import Endpoint

    if item.kind == "endpoint":
        for endpoint in Endpoint.list(ws):
            if endpoint.target == item.target and item.name in (
                endpoint.record.details.get("endpoint"),
                endpoint.name,
            ):
                endpoint.delete(timeout=REMOVE_TIMEOUT)
                return
    _cleaners(ws)[item.target].remove(ws, item, timeout=REMOVE_TIMEOUT)


def _dump(items: list[Billable]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in items]


def _show(ws: Workspace, found: list[Billable]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not found:
        console.print(f"nothing billable of owner {ws.owner} found")
        return
    table = Table("target", "kind", "name", "$/hour now", "detail", title=f"owner {ws.owner}")
    for item in found:
        table.add_row(item.target, item.kind, item.name, f"{item.hourly_usd:.3f}", item.detail)
    console.print(table)
    total = sum(item.hourly_usd for item in found)
    console.print(f"together ${total:.2f}/hour, ${total * 24 * 30:.0f}/month if left running")
