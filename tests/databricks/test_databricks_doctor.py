"""``doctor`` for Databricks: each check passes on a ready workspace and fails, in one line with the
fix and who makes it, on each scripted refusal; nothing billed is started."""

from __future__ import annotations

import pytest

from cloudml_edu.backends.databricks.doctor import checks
from cloudml_edu.checks import Check
from cloudml_edu.testing.databricks import FakeDatabricks


def _by_name(found: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in found}


def test_a_ready_workspace_passes_every_check(mock_databricks: FakeDatabricks) -> None:
    found = checks(mock_databricks.workspace)
    assert [c.name for c in found] == [
        "sign-in",
        "model serving",
        "unity catalog",
        "privileges",
        "registry",
        "runtime",
    ]
    assert all(c.status == "ok" for c in found), [c.line() for c in found]
    assert "tester@example.edu" in found[0].detail
    writes = [r for r in mock_databricks.requests if r.method != "GET"]
    assert writes == []  # read-only


def test_bad_credentials_stop_after_sign_in(mock_databricks: FakeDatabricks) -> None:
    mock_databricks.token = "dapi" + "f" * 32
    (only,) = checks(mock_databricks.workspace)
    assert only.status == "fail" and "token" in only.next_step
    assert mock_databricks.token not in only.line()


@pytest.mark.parametrize(
    ("script", "name", "says"),
    [
        (lambda f: setattr(f, "serving_enabled", False), "model serving", "workspace admin"),
        (lambda f: setattr(f.unity, "enabled", False), "unity catalog", "account admin"),
        (
            lambda f: f.unity.privileges.__setitem__(("catalog", "main"), {"USE_CATALOG"}),
            "privileges",
            "GRANT CREATE SCHEMA ON CATALOG main",
        ),
        (lambda f: setattr(f, "offered_runtimes", []), "runtime", "[databricks] runtime"),
    ],
)
def test_each_failure_names_its_fix(
    mock_databricks: FakeDatabricks, script: object, name: str, says: str
) -> None:
    script(mock_databricks)  # type: ignore[operator]
    found = _by_name(checks(mock_databricks.workspace))
    assert found[name].status == "fail", found[name].line()
    assert says in found[name].line() and "\n" not in found[name].line()


def test_the_legacy_registry_when_chosen(mock_databricks: FakeDatabricks) -> None:
    mock_databricks.legacy_registry = False
    found = _by_name(checks(mock_databricks.configure(registry="workspace")))
    assert found["registry"].status == "fail" and "Unity Catalog" in found["registry"].next_step


@pytest.mark.azurite
def test_hive_metastore_checks_report_a_stopped_warehouse_without_starting_it(
    mock_databricks: FakeDatabricks,
) -> None:
    mock_databricks.script_warehouse("STOPPED")
    found = _by_name(checks(mock_databricks.configure(features="hive_metastore")))
    assert found["warehouse"].status == "warn" and "first use" in found["warehouse"].next_step
    assert (
        found["data access"].status == "warn" and "workspace admin" in found["data access"].line()
    )
    assert mock_databricks.sql.started == 0 and mock_databricks.statements == []


@pytest.mark.azurite
def test_hive_metastore_checks_on_a_running_warehouse(mock_databricks: FakeDatabricks) -> None:
    mock_databricks.sql.data_access = {"spark.hadoop.fs.azure.account.key.other.blob": "x"}
    mock_databricks.hive_metastore = False
    found = _by_name(checks(mock_databricks.configure(features="hive_metastore")))
    assert found["warehouse"].status == "ok"
    assert (
        found["data access"].status == "fail" and "devstoreaccount1" in found["data access"].detail
    )
    assert found["hive_metastore"].status == "fail"
    assert "account admin" in found["hive_metastore"].next_step
    mock_databricks.sql.data_access = {
        "spark.hadoop.fs.azure.account.key.devstoreaccount1.dfs.core.windows.net": "{{secrets/a/b}}"
    }
    mock_databricks.hive_metastore = True
    again = _by_name(checks(mock_databricks.workspace))
    assert again["data access"].status == "ok" and again["hive_metastore"].status == "ok"
