"""``cloudml-edu dataset upload | list | download | delete | share``."""

from __future__ import annotations

import dataclasses
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cloudml_edu.cli._common import ConfigOption, JsonOption, print_json, workspace_from_option

if TYPE_CHECKING:
    from cloudml_edu.datasets.versions import VersionInfo

__all__ = ["app"]

app = typer.Typer(
    help="Upload image datasets to the workspace's store (local folder or Azure Blob) and manage them.",
    no_args_is_help=True,
)

VersionOption = Annotated[str, typer.Option("--version", "-v", help="Dataset version.")]


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _prefix(version: VersionInfo) -> str:
    from cloudml_edu.manifest import version_prefix

    return version_prefix(version.owner, version.name, version.version)


def _check(name: str, version: str, *, name_flag: str = "NAME") -> None:
    """The dataset name and version, by the store's rule, named as the user typed them."""
    from cloudml_edu.manifest import check_name, check_version

    check_name(name, argument=name_flag)
    check_version(version, argument="--version")


@app.command("upload")
def upload_command(
    path: Annotated[Path, typer.Argument(help="Image folder: one sub-folder per class.")],
    name: Annotated[
        str | None, typer.Option(help="Dataset name (default: the folder's name).")
    ] = None,
    version: VersionOption = "1",
    layout: Annotated[
        str, typer.Option(help="'files' (one object per image) or 'parquet' (packed shards).")
    ] = "files",
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Skip unreadable files (with a warning).")
    ] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Upload (incremental, resumable) and register a dataset version."""
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.manifest import check_layout, check_name

    chosen = check_layout(layout, argument="--layout")
    if name is None:
        name = check_name(path.resolve().name, argument="--name (default: the folder's name)")
    _check(name, version, name_flag="--name")  # before anything is read or written
    ws = workspace_from_option(config)
    progress = False if json_output else None
    dataset = Dataset.from_folder(path, name=name, skip_invalid=skip_invalid, progress=progress)
    uploaded = dataset.upload(ws, version=version, layout=chosen, progress=progress)
    table = uploaded.register(ws)
    result = {
        "name": uploaded.name,
        "version": version,
        "layout": chosen,
        "images": len(uploaded),
        "classes": len(uploaded.classes),
        "bytes": uploaded.manifest.total_bytes,
        "location": uploaded.source.location,
        "table": table,
    }
    if json_output:
        print_json(result)
    else:
        typer.echo(
            f"uploaded {len(uploaded)} images ({_size(uploaded.manifest.total_bytes)}) to "
            f"{uploaded.source.location}; registered as {table}"
        )


@app.command("list")
def list_command(
    all_owners: Annotated[bool, typer.Option("--all", help="Every owner's datasets.")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """List dataset versions in the store, with sizes; unfinished uploads show as incomplete."""
    from rich.console import Console
    from rich.table import Table

    from cloudml_edu.backends import table_catalog
    from cloudml_edu.datasets import list_versions

    ws = workspace_from_option(config)
    found = list_versions(ws, all_owners=all_owners)
    tables = {entry.prefix: entry.full_name for entry in table_catalog(ws).list()}
    if json_output:
        print_json([{**dataclasses.asdict(v), "table": tables.get(_prefix(v))} for v in found])
        return
    table = Table(
        "owner", "name", "version", "status", "layout", "images", "objects", "size", "table"
    )
    for v in found:
        table.add_row(
            v.owner, v.name, v.version, "complete" if v.complete else "incomplete",
            v.layout or "-", str(v.images if v.images is not None else "-"),
            str(v.objects), _size(v.bytes), tables.get(_prefix(v), "-"),
        )  # fmt: skip
    Console().print(table)


@app.command("download")
def download_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    dest: Annotated[Path, typer.Argument(help="Folder to write <label>/<image> files into.")],
    version: VersionOption = "1",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Download a version (concurrent, every file verified by MD5, resumable)."""
    from cloudml_edu.datasets import download_version

    _check(name, version)
    dataset = download_version(
        workspace_from_option(config), name, dest, version=version,
        progress=False if json_output else None,
    )  # fmt: skip
    if json_output:
        print_json(
            {"name": name, "version": version, "images": len(dataset), "path": str(dest.resolve())}
        )
    else:
        typer.echo(f"downloaded {len(dataset)} images to {dest.resolve()}")


@app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    version: VersionOption = "1",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete it even if runs trained on it.")
    ] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete a version: manifest first (it stops loading at once), then its objects.

    A version runs trained on is kept unless --force; one already gone is an error.
    """
    from cloudml_edu.backends import table_catalog
    from cloudml_edu.datasets import delete_version
    from cloudml_edu.errors import CloudMLError, NotFoundError

    _check(name, version)
    ws = workspace_from_option(config)
    if not yes and not json_output:
        typer.confirm(f"delete {name} version {version} from {ws.store.url}?", abort=True)
    progress = False if json_output else None
    try:
        deleted = delete_version(ws, name, version=version, force=force, progress=progress)
    except NotFoundError:
        with suppress(CloudMLError):  # a catalog row left behind goes too
            table_catalog(ws).delete(name, version=version, schema=ws.schema)
        raise
    table_catalog(ws).delete(name, version=version, schema=ws.schema)
    if json_output:
        print_json({"name": name, "version": version, "deleted_objects": deleted})
    else:
        typer.echo(f"deleted {name} version {version} ({deleted} objects)")


@app.command("share")
def share_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    version: VersionOption = "1",
    hours: Annotated[float, typer.Option(help="How long the URLs stay valid.")] = 1.0,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print short-lived, read-only SAS URLs of a version (Azure Blob only)."""
    from cloudml_edu.datasets import share_version

    _check(name, version)
    shared = share_version(
        workspace_from_option(config), name, version=version, expires_in=timedelta(hours=hours)
    )
    if json_output:
        print_json({"url": shared.url, "expires": shared.expires, "urls": shared.urls})
    else:
        typer.echo(f"manifest (read-only, until {shared.expires:%Y-%m-%d %H:%M} UTC):")
        typer.echo(shared.url)
        typer.echo(f"{len(shared.urls) - 1} more object URLs with --json")
