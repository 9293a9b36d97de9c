"""``cloudml-edu repair``: rebuild a damaged catalog.db or mlflow.db (see cloudml_edu.repair)."""

from __future__ import annotations

import typer

from cloudml_edu.cli._common import ConfigOption, JsonOption, print_json, workspace_from_option

__all__ = ["repair_command"]


def repair_command(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Rebuild a damaged catalog (from the stored manifests) and run list (from the run records)."""
    from cloudml_edu.repair import repair_workspace

    report = repair_workspace(workspace_from_option(config))
    if json_output:
        print_json(
            {
                "catalog_versions": report.catalog_versions,
                "runs": report.runs,
                "kept": [str(p) for p in report.kept],
                "skipped": report.skipped,
            }
        )
        return
    for what, count, unit in (
        ("catalog.db", report.catalog_versions, "dataset version(s) registered"),
        ("mlflow.db", report.runs, "run(s) restored"),
    ):
        typer.echo(
            f"{what}: " + ("fine, left as it is" if count is None else f"rebuilt, {count} {unit}")
        )
    for path in report.kept:
        typer.echo(f"the damaged file is kept as {path}")
    for line in report.skipped:
        typer.echo(f"skipped an unreadable run record: {line}")
