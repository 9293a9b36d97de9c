"""``cloudml-edu init --cloud azureml|databricks``: write a commented ``cloudml.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cloudml_edu.cli._common import JsonOption, fail, print_json

__all__ = ["init_command"]


def init_command(
    cloud: Annotated[
        str, typer.Option("--cloud", help="azureml or databricks: the section to write.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")] = Path(
        "cloudml.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Write a commented cloudml.toml for a cloud, with its sign-in; fill in the <...> values."""
    from cloudml_edu.config import load_config
    from cloudml_edu.config_templates import placeholders, template
    from cloudml_edu.errors import CloudMLError, ConfigError

    try:
        text = template(cloud.strip().lower())
        if out.exists() and not force:
            raise ConfigError(f"{out} exists; pass --force to replace it, or --out OTHER.toml")
        out.write_text(text, encoding="utf-8")
        missing = placeholders(load_config(out))
    except (CloudMLError, OSError) as exc:
        fail(exc)
    if json_output:
        print_json({"file": str(out), "cloud": cloud, "placeholders": missing})
        return
    typer.echo(f"wrote {out}: replace the <...> values ({', '.join(missing)}), then sign in as")
    typer.echo("its comments say; `cloudml-edu train DATASET --plan` shows what would run")
