"""``cloudml-edu handin``: pack the workspace as one zip for the instructor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cloudml_edu.cli._common import ConfigOption, JsonOption, print_json, workspace_from_option

__all__ = ["handin_command"]


def handin_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The zip to write (default: handin-OWNER-YYYYMMDD.zip here)."
        ),
    ] = None,
    images: Annotated[
        bool,
        typer.Option(
            "--images",
            help="Add the dataset images (larger; the instructor's report then shows your "
            "dataset and its image statistics).",
        ),
    ] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Pack your workspace (runs, models, catalog; images with --images) to hand in."""
    from cloudml_edu._units import human_size
    from cloudml_edu.handin import pack_workspace
    from cloudml_edu.report.workspaces import DEFAULT_OWNER

    ws = workspace_from_option(config)
    packed = pack_workspace(ws, out, images=images)
    if json_output:
        print_json({**vars(packed), "owner": ws.owner})
        return
    what = "with images" if images else "without images (--images adds them)"
    typer.echo(f"packed {packed.files} files ({human_size(packed.bytes)}) {what}: {packed.path}")
    typer.echo(
        "the instructor unzips every hand-in into one folder and runs "
        "`cloudml-edu compare -w FOLDER`"
    )
    if ws.owner == DEFAULT_OWNER:
        typer.echo(
            f"note: your owner is still the default {DEFAULT_OWNER!r}; set CLOUDML_OWNER (or "
            "owner in cloudml.toml) before training so your runs carry your name",
            err=True,
        )
