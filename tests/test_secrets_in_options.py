"""Credentials in options are found by name or shape and redacted from any structure."""

from __future__ import annotations

from cloudml_edu._secrets import redact, redact_data, secret_name
from cloudml_edu.options import TrainOptions
from cloudml_edu.run import Plan, PlanStep


def test_secret_names_and_identifiers() -> None:
    for name in ("HF_TOKEN", "api_key", "STORAGE_SAS", "db_password", "AccountKey", "key"):
        assert secret_name(name), name
    for name in ("task_key", "EPOCHS", "spark_version", "node_type_id", "keyboard"):
        assert not secret_name(name), name


def test_a_databricks_plan_keeps_its_shape_without_the_secrets() -> None:
    token = "dapi0123456789abcdef0123456789abcdef"
    options = {"new_cluster": {"spark_env_vars": {"MY_SECRET": "s3cr3t-value", "MODE": "fast"}}}
    TrainOptions(backend_options=options)  # registers what the options hold
    body = {
        "tasks": [{"task_key": "automl_classify", "new_cluster": options["new_cluster"]}],
        "note": f"Bearer-less token {token} pasted in a description",
    }
    plan = Plan(
        backend="automl",
        target="databricks",
        dataset="d",
        steps=[PlanStep(name="submit", action="submit", detail={"POST": body})],
        files={"job.json": f'{{"MY_SECRET": "s3cr3t-value", "token": "{token}"}}'},
    )
    text = plan.model_dump_json()
    assert "s3cr3t-value" not in text and token not in text
    task = plan.steps[0].detail["POST"]["tasks"][0]
    assert task["task_key"] == "automl_classify"
    assert task["new_cluster"]["spark_env_vars"] == {"MY_SECRET": "***", "MODE": "fast"}
    assert "s3cr3t-value" not in redact("logged: s3cr3t-value")


def test_redact_data_walks_lists_and_keeps_numbers() -> None:
    assert redact_data({"a": [{"password": "x"}, 3], "b": 1.5}) == {
        "a": [{"password": "***"}, 3],
        "b": 1.5,
    }


def test_a_token_under_a_plain_name_is_found_by_its_shape_and_names_stay() -> None:
    token = "ghp_" + "aB3" * 12
    TrainOptions(backend_options={"command_args": token, "compute": "cpu-cluster-Standard_DS3"})
    assert redact(f"args {token}") == "args ***"
    assert redact("on cpu-cluster-Standard_DS3") == "on cpu-cluster-Standard_DS3"
