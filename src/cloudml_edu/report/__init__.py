"""Compare runs, plot them, write an HTML report, and export or push them to Power BI.

    from cloudml_edu.report import compare, write_report, export_powerbi

    table = compare(TrainingRun.list(ws))   # one row per run: quality, cost, transparency
    table.print()                           # or .to_frame(), .to_html()
    write_report(runs, "report/")           # report.html (self-contained) plus PNGs
    export_powerbi(runs, "powerbi/")        # Parquet + CSV star schema for Power BI Desktop

Names load on first use: importing this package pulls in none of matplotlib,
pandas or MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudml_edu._lazy import lazy_attributes

if TYPE_CHECKING:
    from cloudml_edu.report.comparison import Comparison, ComparisonRow, compare
    from cloudml_edu.report.html import Report, write_report
    from cloudml_edu.report.powerbi.export import StarSchema, build_star_schema, export_powerbi
    from cloudml_edu.report.powerbi.push import PowerBIClient
    from cloudml_edu.report.profiles import PROFILES, BackendProfile
    from cloudml_edu.report.selection import Selection, latest_per_backend, select_runs

__all__ = [
    "PROFILES",
    "BackendProfile",
    "Comparison",
    "ComparisonRow",
    "PowerBIClient",
    "Report",
    "Selection",
    "StarSchema",
    "build_star_schema",
    "compare",
    "export_powerbi",
    "latest_per_backend",
    "select_runs",
    "write_report",
]

_LAZY = {
    "PROFILES": ".profiles",
    "BackendProfile": ".profiles",
    "Comparison": ".comparison",
    "ComparisonRow": ".comparison",
    "compare": ".comparison",
    "latest_per_backend": ".selection",
    "select_runs": ".selection",
    "Selection": ".selection",
    "Report": ".html",
    "write_report": ".html",
    "StarSchema": ".powerbi.export",
    "build_star_schema": ".powerbi.export",
    "export_powerbi": ".powerbi.export",
    "PowerBIClient": ".powerbi.push",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
