"""The three local backends: one script, any backend, the same Metrics fields."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from cloudml_edu import BackendError, ConfigError, Dataset, Trainer, TrainingRun, Workspace
from cloudml_edu.config import AzureMLConfig, CloudMLConfig

BACKENDS = ("designer", "sdk", "automl")
FAST = {"max_trials": 4, "families": ["logistic_regression", "knn", "svc"]}


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, digits_dir: Path
) -> tuple[Workspace, dict[str, TrainingRun]]:
    """The same student script, run once per backend."""
    ws = Workspace.local(tmp_path_factory.mktemp("backends") / "ws")
    dataset = Dataset.from_folder(digits_dir).upload(ws)
    runs = {name: Trainer(name, workspace=ws, **FAST).fit(dataset) for name in BACKENDS}
    return ws, runs


def test_every_backend_fills_the_same_metrics_fields(
    trained: tuple[Workspace, dict[str, TrainingRun]],
) -> None:
    _, runs = trained
    filled = {}
    for name, run in runs.items():
        assert run.status == "Completed", run.error
        assert run.metrics is not None
        dumped = run.metrics.model_dump()
        filled[name] = {key for key, value in dumped.items() if value not in (None, [], {})}
        assert run.metrics.accuracy > (0.9 if name == "designer" else 0.95), name
        assert run.metrics.n_test == 359 and run.metrics.labels == [str(d) for d in range(10)]
        assert sum(map(sum, run.metrics.confusion_matrix)) == 359
    assert filled["designer"] == filled["sdk"] == filled["automl"]
    assert {
        "accuracy",
        "f1_macro",
        "f1_weighted",
        "log_loss",
        "confusion_matrix",
        "per_class",
    } <= filled["sdk"]


def test_designer_keeps_each_component_and_its_outputs(
    trained: tuple[Workspace, dict[str, TrainingRun]],
) -> None:
    _, runs = trained
    steps = runs["designer"].steps
    assert [s.name for s in steps] == [
        "prepare",
        "split",
        "featurize",
        "train",
        "score",
        "evaluate",
    ]
    produced: set[str] = {steps[0].inputs["dataset"]}
    for step in steps:
        assert set(step.inputs.values()) <= produced, (
            f"{step.name} reads something no earlier step wrote"
        )
        for path in step.outputs.values():
            assert Path(path).is_file()
        produced |= set(step.outputs.values())
    assert steps[1].params == {"test_size": 0.2, "seed": 0}
    assert steps[3].params["family"] == "Multiclass Decision Forest"  # the Designer's module
    assert steps[3].params["n_estimators"] == 8


def test_designer_and_sdk_train_their_own_defaults_so_scores_differ(
    trained: tuple[Workspace, dict[str, TrainingRun]],
) -> None:
    _, runs = trained
    designer, sdk = runs["designer"], runs["sdk"]
    assert designer.options is not None and sdk.options is not None
    assert (designer.options.model, sdk.options.model) == ("Multiclass Decision Forest", "svc")
    assert designer.metrics is not None and sdk.metrics is not None
    assert designer.metrics.accuracy != sdk.metrics.accuracy


def test_sdk_runs_a_command_job_and_keeps_its_log(
    trained: tuple[Workspace, dict[str, TrainingRun]],
) -> None:
    _, runs = trained
    job = runs["sdk"].job
    assert job is not None and job.exit_code == 0
    assert job.command[1:3] == ["-m", "cloudml_edu.training"]
    log = Path(job.log_path).read_text()
    assert "accuracy" in log and "done" in log


def test_automl_trials_are_child_runs_and_the_best_wins(
    trained: tuple[Workspace, dict[str, TrainingRun]],
) -> None:
    import mlflow

    ws, runs = trained
    run = runs["automl"]
    assert 1 <= len(run.trials) <= 4
    assert {t.family for t in run.trials} >= {"logistic_regression", "knn", "svc"}
    mlflow.set_tracking_uri(ws.tracking_uri)
    for trial in run.trials:
        child = mlflow.get_run(trial.run_id)
        assert child.data.tags["mlflow.parentRunId"] == run.id
        assert child.data.metrics["val_accuracy"] == pytest.approx(trial.score)
    best = max(run.trials, key=lambda t: t.score or 0)
    params = mlflow.get_run(run.id).data.params
    assert params["model.family"] == best.family


def test_models_are_pyfunc_models_that_take_base64_images(
    trained: tuple[Workspace, dict[str, TrainingRun]], digits_dir: Path
) -> None:
    import mlflow
    import pandas as pd

    ws, runs = trained
    mlflow.set_tracking_uri(ws.tracking_uri)
    images = [
        (digits_dir / "3" / name)
        for name in sorted(p.name for p in (digits_dir / "3").iterdir())[:3]
    ]
    frame = pd.DataFrame({"image": [base64.b64encode(p.read_bytes()).decode() for p in images]})
    for run in runs.values():
        assert run.model is not None
        out = mlflow.pyfunc.load_model(run.model).predict(frame)
        assert list(out["label"]) == ["3", "3", "3"]
        probabilities = out[[f"p:{d}" for d in range(10)]].sum(axis=1)
        assert probabilities.round(6).eq(1.0).all()


def test_served_models_carry_only_what_inference_needs(
    trained: tuple[Workspace, dict[str, TrainingRun]],
) -> None:
    import mlflow

    from cloudml_edu.training.pyfunc import SHIPPED

    ws, runs = trained
    mlflow.set_tracking_uri(ws.tracking_uri)
    for run in runs.values():
        assert run.model is not None
        folder = Path(mlflow.artifacts.download_artifacts(run.model))
        lines = (folder / "requirements.txt").read_text().split()
        names = {line.split("==")[0].lower() for line in lines}
        assert names == {"mlflow", "numpy", "pandas", "pillow", "scikit-learn"}, lines
        assert all("==" in line for line in lines)  # pinned: the classifier is a pickle
        text = " ".join(lines)
        for unwanted in ("cloudml", "azure", "databricks", "matplotlib", "typer"):
            assert unwanted not in text
        code = folder / "code" / "cloudml_edu"
        shipped = sorted(str(p.relative_to(code)) for p in code.rglob("*.py"))
        assert shipped == sorted(["__init__.py", "training/__init__.py", *SHIPPED])


def test_runs_are_recorded_and_listed(trained: tuple[Workspace, dict[str, TrainingRun]]) -> None:
    ws, runs = trained
    listed = {r.backend: r for r in TrainingRun.list(ws)}
    assert set(listed) == set(BACKENDS)
    for name, run in runs.items():
        assert TrainingRun.get(ws, run.id).metrics == run.metrics
        assert TrainingRun.get(ws, run.id[:8]).id == run.id
        assert listed[name].id == run.id
        assert listed[name].options == run.options is not None


def test_plan_is_a_dry_run(workspace: Workspace, tiny_dir: Path) -> None:
    import mlflow

    dataset = Dataset.from_folder(tiny_dir)
    for name in BACKENDS:
        plan = Trainer(name, workspace=workspace, **FAST).plan(dataset)
        assert plan.backend == name and plan.target == "local" and plan.estimated_cost_usd == 0.0
        assert plan.steps and str(plan).startswith(f"plan: {name}")
    mlflow.set_tracking_uri(workspace.tracking_uri)
    assert mlflow.search_runs(search_all_experiments=True).empty


def test_bad_backend_and_options_are_config_errors(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="designer, sdk, automl"):
        Trainer("sagemaker", workspace=workspace)
    with pytest.raises(ConfigError, match=r"test_sise.*Valid options"):
        Trainer("sdk", workspace=workspace, test_sise=0.3)
    with pytest.raises(ConfigError, match="test_size"):
        Trainer("sdk", workspace=workspace, test_size=2)
    cloud = Workspace(
        CloudMLConfig(
            root=tmp_path / "c",
            azure_ml=AzureMLConfig(subscription_id="s", resource_group="r", workspace_name="w"),
        )
    )
    assert Trainer("designer", workspace=cloud)._backend.target == "azureml"  # no request made


def test_a_failing_job_fails_the_run_with_its_log(workspace: Workspace, tiny_dir: Path) -> None:
    trainer = Trainer("sdk", workspace=workspace, model="svc", params={"C": -1.0})
    with pytest.raises(BackendError, match="exited with code 1") as caught:
        trainer.fit(Dataset.from_folder(tiny_dir))
    assert "C" in str(caught.value)
    assert [r.status for r in TrainingRun.list(workspace)] == ["Failed"]


def test_the_job_entry_point_reports_bad_input_with_exit_code_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cloudml_edu.training", "--data", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "one sub-folder per class" in done.stderr


def test_failing_trials_are_recorded_and_the_search_goes_on(
    workspace: Workspace, digits_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudml_edu.training import models

    real = models.build_model

    def broken_knn(family: str, params: dict[str, object], *, seed: int = 0) -> object:
        if family == "knn":
            raise RuntimeError("knn exploded")
        return real(family, params, seed=seed)

    monkeypatch.setattr(models, "build_model", broken_knn)
    import cloudml_edu.training.fit as fit

    monkeypatch.setattr(fit, "build_model", broken_knn)
    dataset = Dataset.from_folder(digits_dir)
    run = Trainer(
        "automl", workspace=workspace, max_trials=3, families=["knn", "logistic_regression"]
    ).fit(dataset)
    failed = [t for t in run.trials if t.status == "Failed"]
    assert failed and all(t.family == "knn" and t.error == "knn exploded" for t in failed)
    assert run.status == "Completed" and run.metrics is not None
    with pytest.raises(BackendError, match=r"every trial failed.*knn exploded"):
        Trainer("automl", workspace=workspace, max_trials=2, families=["knn"]).fit(dataset)


def test_an_sdk_job_can_be_submitted_then_waited_for(workspace: Workspace, tiny_dir: Path) -> None:
    from cloudml_edu import TimeoutError as CloudTimeout

    trainer = Trainer("sdk", workspace=workspace, model="knn", params={"n_neighbors": 1})
    poller = trainer.begin_fit(Dataset.from_folder(tiny_dir))
    run = poller.value
    assert poller.status() == "Running" and run.metrics is None and not poller.done()
    with pytest.raises(CloudTimeout, match=f"sdk job {run.id[:8]}.*still not done after 0 s"):
        poller.result(timeout=0.0)
    assert poller.result(timeout=120) is run and run.status == "Completed"
    assert run.metrics is not None and run.job is not None and run.job.exit_code == 0
    assert TrainingRun.get(workspace, run.id).status == "Completed"
