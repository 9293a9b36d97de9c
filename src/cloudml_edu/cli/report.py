"""``cloudml-edu compare``, ``report`` and ``powerbi export|push``.

Without run ids, every command takes comparable runs (:mod:`cloudml_edu.report.selection`):
the completed runs (``--status`` for others) of one dataset (the newest run's, or
``--dataset``), of your owner (or of every owner with ``--all-owners``).
``compare`` and ``report`` keep the latest run of each backend; ``powerbi``
commands keep every run, so dashboards keep the history.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from cloudml_edu.cli._common import (
    ConfigOption,
    JsonOption,
    fail,
    print_json,
    workspace_from_option,
)
from cloudml_edu.errors import CloudMLError, ConfigError, NotFoundError
from cloudml_edu.report.selection import DEFAULT_STATUSES, STATUSES

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.report.comparison import Comparison
    from cloudml_edu.run import TrainingRun
    from cloudml_edu.workspace import Workspace

__all__ = ["compare_command", "powerbi_app", "report_command", "select_runs"]

RunIds = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[RUN_IDS]...",
        help="Run ids (or a unique prefix, 4+ characters) to include (default: see --dataset).",
    ),
]
OwnerOption = Annotated[
    str | None, typer.Option("--owner", help="Only this owner's runs (default: yours).")
]
AllOwnersOption = Annotated[
    bool, typer.Option("--all-owners", help="Runs of every owner in the store (instructor view).")
]
DatasetOption = Annotated[
    str | None,
    typer.Option(
        "--dataset", help="Compare the runs on this dataset (default: the newest run's dataset)."
    ),
]
WorkspacesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Instructors: a workspace folder (with mlflow.db) or a folder of handed-in "
        "workspaces, repeatable; every owner's runs unless --owner (default: --config's).",
    ),
]
StatusOption = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        help=f"Run statuses to include, repeatable: {', '.join(STATUSES)} or all "
        "(default: Completed).",
    ),
]

powerbi_app = typer.Typer(no_args_is_help=True, help="Export to and push to Power BI.")


def select_runs(
    ws: Workspace,
    run_ids: list[str] | None,
    *,
    owner: str | None,
    all_owners: bool,
    dataset: str | None,
    statuses: list[str] | None,
    latest: bool,
    workspaces: list[Path] | None = None,
) -> list[TrainingRun]:
    """The runs a command works on: ``run_ids`` as given, else the comparable runs of the
    owner (or all owners, or every workspace in ``workspaces``) chosen by
    :func:`cloudml_edu.report.selection.select_runs`.

    What was left out, and owner collisions, are said on stderr, one line each.
    """
    from cloudml_edu.report.selection import select_runs as comparable
    from cloudml_edu.report.workspaces import owner_notes

    if workspaces:
        runs, notes = _workspace_runs(workspaces, run_ids, owner=owner)
    else:
        runs = _owned_runs(ws, run_ids, owner=owner, all_owners=all_owners)
        notes = owner_notes(runs) if all_owners else []
    if not run_ids:
        chosen = comparable(
            runs, dataset=dataset, statuses=statuses or DEFAULT_STATUSES, latest=latest
        )
        runs, notes = chosen.runs, notes + chosen.notes
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    return runs  # TrainingRun.get/list point each record at the store it was read from


def _compared(
    config: Path | None,
    run_ids: list[str] | None,
    owner: str | None,
    all_owners: bool,
    dataset: str | None,
    statuses: list[str] | None,
    workspaces: list[Path] | None,
) -> tuple[list[TrainingRun], Comparison]:
    """The newest comparable run of each backend (``compare`` and ``report``) and their table."""
    from cloudml_edu.pricing import CloudCompute
    from cloudml_edu.report.comparison import compare

    ws = workspace_from_option(config)
    runs = _selected(ws, run_ids, owner, all_owners, dataset, statuses, workspaces, latest=True)
    return runs, compare(runs, prices=ws.config.prices, compute=CloudCompute.from_config(ws.config))


def _selected(
    ws: Workspace,
    run_ids: list[str] | None,
    owner: str | None,
    all_owners: bool,
    dataset: str | None,
    statuses: list[str] | None,
    workspaces: list[Path] | None,
    *,
    latest: bool,
) -> list[TrainingRun]:
    """:func:`select_runs` with the selection options every report command takes."""
    return select_runs(
        ws,
        run_ids,
        owner=owner,
        all_owners=all_owners,
        dataset=dataset,
        statuses=statuses,
        workspaces=workspaces,
        latest=latest,
    )


def _registered_datasets(ws: Workspace, runs: list[TrainingRun]) -> list[Dataset]:
    """The datasets the runs trained on, for the report's dataset summary; a dataset not
    registered in this workspace (a folder, another student's) is left out with a note."""
    from cloudml_edu.datasets import Dataset

    found = []
    for name in sorted({run.dataset for run in runs if run.dataset}):
        try:
            found.append(Dataset.load(ws, name))
        except CloudMLError:
            typer.echo(f"note: dataset {name} is not registered here: no summary of it", err=True)
    return found


def _workspace_runs(
    paths: list[Path], run_ids: list[str] | None, *, owner: str | None
) -> tuple[list[TrainingRun], list[str]]:
    """The runs of every workspace under ``paths`` (only ``run_ids`` when given)."""
    from cloudml_edu.report.workspaces import find_workspaces, runs_of_workspaces

    runs, notes = runs_of_workspaces(find_workspaces(paths), owner=owner)
    if not run_ids:
        if not runs:
            raise NotFoundError(f"no training runs in the workspaces under {paths[0]}")
        return runs, notes
    picked = []
    for ref in run_ids:
        matches = [r for r in runs if r.id.startswith(ref.strip().lower())]
        if len(matches) != 1:
            shown = ", ".join(r.id[:12] for r in matches[:10])
            raise NotFoundError(
                f"run id {ref} matches {len(matches)} runs in these workspaces"
                + (f" ({shown}); pass more characters" if matches else "; see `cloudml-edu runs`")
            )
        picked.append(matches[0])
    return picked, notes


def _owned_runs(
    ws: Workspace, run_ids: list[str] | None, *, owner: str | None, all_owners: bool
) -> list[TrainingRun]:
    from cloudml_edu.run import TrainingRun

    if run_ids:
        return [TrainingRun.get(ws, run_id) for run_id in run_ids]
    if all_owners and owner:
        raise ConfigError("pass either --owner or --all-owners, not both")
    chosen_owner = None if all_owners else owner or ws.owner
    runs = TrainingRun.list(ws, owner=chosen_owner)
    if not runs:
        who = "any owner" if all_owners else f"owner {chosen_owner!r}"
        raise NotFoundError(
            f"no training runs of {who} in {ws.tracking_uri}; train one with "
            "`cloudml-edu train DATASET`, or pass --all-owners / --owner NAME"
        )
    return runs


def compare_command(
    run_ids: RunIds = None,
    dataset: DatasetOption = None,
    status: StatusOption = None,
    workspace: WorkspacesOption = None,
    owner: OwnerOption = None,
    all_owners: AllOwnersOption = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Compare runs: quality, time, cost, transparency and usability, side by side."""
    from rich.console import Console

    try:
        _, table = _compared(config, run_ids, owner, all_owners, dataset, status, workspace)
    except CloudMLError as exc:
        fail(exc)
    if json_output:
        print_json(table.to_records())
    else:
        table.print(Console())


def report_command(
    run_ids: RunIds = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.html and the PNGs.")
    ] = Path("report"),
    title: Annotated[str, typer.Option(help="The page title.")] = "cloudml-edu report",
    new_images: Annotated[
        Path | None,
        typer.Option(
            "--new-images",
            help="Predictions on new images for a 'new images' section: the file that "
            "`cloudml-edu predict ENDPOINT IMAGES... --json > new.json` writes.",
        ),
    ] = None,
    dataset: DatasetOption = None,
    status: StatusOption = None,
    workspace: WorkspacesOption = None,
    owner: OwnerOption = None,
    all_owners: AllOwnersOption = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write a self-contained HTML report (charts embedded, opens offline) plus the PNGs."""
    from cloudml_edu.report.html import write_report
    from cloudml_edu.report.new_images import read_predictions

    try:
        predictions = read_predictions(new_images) if new_images is not None else []
        runs, table = _compared(config, run_ids, owner, all_owners, dataset, status, workspace)
        report = write_report(
            runs,
            out,
            title=title,
            comparison=table,
            datasets=_registered_datasets(workspace_from_option(config), runs),
            new_images=predictions,
        )
    except CloudMLError as exc:
        fail(exc)
    if json_output:
        print_json({"html": report.html, "images": report.images, "notes": report.notes})
        return
    typer.echo(f"report: {report.html} ({len(report.images)} charts)")
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)


@powerbi_app.command("export")
def export_command(
    run_ids: RunIds = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Local folder for the files.")
    ] = None,
    to_store: Annotated[
        bool, typer.Option("--to-store", help="Also write to the workspace store (Azure Blob).")
    ] = False,
    prefix: Annotated[str, typer.Option(help="Folder (key prefix) in the store.")] = "powerbi",
    formats: Annotated[
        list[str] | None, typer.Option("--format", help="parquet and/or csv (default: both).")
    ] = None,
    dataset: DatasetOption = None,
    status: StatusOption = None,
    workspace: WorkspacesOption = None,
    owner: OwnerOption = None,
    all_owners: AllOwnersOption = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the star schema (Parquet and CSV) for Power BI Desktop: every run selected."""
    from cloudml_edu.report.powerbi.export import export_powerbi

    chosen: list[Literal["parquet", "csv"]] = []
    for fmt in formats or ["parquet", "csv"]:
        if fmt not in ("parquet", "csv"):
            fail(ConfigError(f"unknown --format {fmt!r}; use parquet or csv"))
        chosen.append("parquet" if fmt == "parquet" else "csv")
    try:
        ws = workspace_from_option(config)
        runs = _selected(ws, run_ids, owner, all_owners, dataset, status, workspace, latest=False)
        target = out if out is not None or to_store else Path("powerbi")
        schema, written = export_powerbi(
            runs, target, workspace=ws, to_store=to_store, prefix=prefix, formats=chosen
        )
    except CloudMLError as exc:
        fail(exc)
    counts = {name: len(frame) for name, frame in schema.tables.items()}
    if json_output:
        print_json({"files": written, "rows": counts, "notes": schema.notes})
        return
    typer.echo(f"exported {len(runs)} run(s): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for path in written:
        typer.echo(f"  {path}")
    for note in schema.notes:
        typer.echo(f"note: {note}", err=True)


@powerbi_app.command("push")
def push_command(
    run_ids: RunIds = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Dataset name (default: [powerbi] dataset_name).")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option("--group", help="Workspace (group) id (default: [powerbi] group_id)."),
    ] = None,
    dataset: DatasetOption = None,
    status: StatusOption = None,
    workspace: WorkspacesOption = None,
    owner: OwnerOption = None,
    all_owners: AllOwnersOption = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Push the star schema to a Power BI push dataset (created once, rows replaced)."""
    from cloudml_edu.report.powerbi.export import build_star_schema, load_endpoints
    from cloudml_edu.report.powerbi.push import PowerBIClient, check_group

    try:
        ws = workspace_from_option(config)
        settings = ws.config.powerbi
        group_id = group or (settings.group_id if settings else None)
        if not group_id:
            raise ConfigError(
                'no Power BI workspace: pass --group ID or add [powerbi] group_id = "..." to '
                "cloudml.toml (the id is in the workspace URL, after /groups/)"
            )
        check_group(group_id)  # before anything is read or sent
        push_name = name or (settings.dataset_name if settings else "cloudml-edu")
        runs = _selected(ws, run_ids, owner, all_owners, dataset, status, workspace, latest=False)
        schema = build_star_schema(runs, endpoints=load_endpoints(ws), prices=ws.config.prices)
        result = PowerBIClient(group_id, timeouts=ws.config.timeouts).push(schema, name=push_name)
    except CloudMLError as exc:
        fail(exc)
    if json_output:
        print_json(vars(result))
        return
    verb = "created" if result.created else "refreshed"
    typer.echo(
        f"{verb} dataset {push_name} ({result.dataset_id}): {sum(result.rows.values())} rows "
        f"in {result.posts} POSTs"
    )
