"""Secrets given in ``backend_options`` never rest in clear: not in plan.json, job.yml, the
run store or ``runs --json``; the job itself still gets them, in the submit request."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cloudml_edu import Dataset, Trainer, TrainingRun
from cloudml_edu.cli import app

TOKEN = "hf_q8Xv2LmN4pR7tK1wZ9yB3cD5"
SAS = "https://acct.blob.core.windows.net/data?sv=2024-08-04&sp=r&sig=Zm9vYmFyYmF6cXV4MTIz%3D"
SHORT = "pw42"  # short, but under a name that says what it is
URL = "https://student:hunter2@db.example.org/course"


def _options() -> dict[str, object]:
    return {
        "environment_variables": {
            "HF_TOKEN": TOKEN,
            "DATA_URL": SAS,
            "DB_PASSWORD": SHORT,
            "DB_URL": URL,
            "EPOCHS": "3",
        }
    }


def _clean(text: str) -> None:
    for secret in (TOKEN, "Zm9vYmFyYmF6cXV4MTIz", SHORT, "hunter2"):
        assert secret not in text


def test_secrets_are_redacted_in_plan_yaml_store_and_json_but_reach_the_job(
    mock_azure_ml, images: Path, tmp_path: Path, monkeypatch
) -> None:
    ws = mock_azure_ml.workspace
    ds = Dataset.from_folder(images, progress=False)
    trainer = Trainer("sdk", workspace=ws, image_size=8, backend_options=_options())
    plan = trainer.plan(ds)
    written = plan.write(tmp_path / "plan")
    for path in written:
        _clean(path.read_text())
    assert "EPOCHS" in (tmp_path / "plan" / "job.yml").read_text()  # the rest is kept
    _clean(plan.model_dump_json())

    run = trainer.fit(ds)
    ((_, body),) = mock_azure_ml.jobs.items()
    sent = body["properties"]["environmentVariables"]
    assert (sent["HF_TOKEN"], sent["DATA_URL"], sent["DB_PASSWORD"]) == (TOKEN, SAS, SHORT)

    stored = TrainingRun.get(ws, run.id)
    _clean(stored.model_dump_json())
    record = Path(run.tracking_uri.removeprefix("sqlite:///")).parent / "artifacts"
    for path in record.rglob("*.json"):
        _clean(path.read_text())
    assert stored.options is not None
    env = stored.options.backend_options["environment_variables"]
    assert env["HF_TOKEN"] == env["DB_PASSWORD"] == "***" and env["EPOCHS"] == "3"

    monkeypatch.chdir(tmp_path)
    listed = CliRunner().invoke(app, ["runs", "--json"], env={"CLOUDML_ROOT": str(ws.root)})
    assert listed.exit_code == 0, listed.output
    _clean(listed.stdout)
    assert run.id[:8] in listed.stdout
