"""The Power BI export folder: a file in its place or a refused write is a ConfigError naming it."""

from __future__ import annotations

import errno
from pathlib import Path

import pandas as pd
import pytest
from report_fakes import synthetic_run

from cloudml_edu import ConfigError
from cloudml_edu.report import build_star_schema
from cloudml_edu.report.powerbi.export import StarSchema


@pytest.fixture(scope="module")
def schema() -> StarSchema:
    return build_star_schema([synthetic_run(owner="a", run_id="a" * 32)], artifacts=False)


def test_an_export_folder_that_is_a_file(schema: StarSchema, tmp_path: Path) -> None:
    blocker = tmp_path / "export"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=rf"Power BI export folder {blocker}.*is a file"):
        schema.write(blocker)


def test_a_refused_write_names_the_folder(
    schema: StarSchema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(pd.DataFrame, "to_csv", denied)
    with pytest.raises(ConfigError, match=rf"cannot write Power BI export folder {tmp_path}"):
        schema.write(tmp_path / "export", formats=("csv",))


def test_an_unknown_format_is_refused_before_writing(schema: StarSchema, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown export format 'xlsx'"):
        schema.write(tmp_path / "export", formats=("csv", "xlsx"))  # type: ignore[arg-type]
    assert not (tmp_path / "export").exists()
