"""``Trainer``: one facade, three backends. Change the backend string, nothing else."""

from __future__ import annotations

import itertools
import math
import os
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from cloudml_edu._checks import check_flag, check_number, check_text
from cloudml_edu.errors import CloudMLError, ConfigError, DatasetError, NotFoundError

if TYPE_CHECKING:
    from cloudml_edu._polling import Poller
    from cloudml_edu.backends.base import Backend
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.options import TrainOptions
    from cloudml_edu.run import Plan, TrainingRun
    from cloudml_edu.workspace import Workspace

__all__ = [
    "MIN_TEST_PER_CLASS",
    "MIN_TRAIN_PER_CLASS",
    "Trainer",
    "as_dataset",
    "check_class_sizes",
]

#: Training images every class needs (the svc family's 5-fold calibration needs 5).
MIN_TRAIN_PER_CLASS = 5
#: Test images every class needs, so its score means something.
MIN_TEST_PER_CLASS = 1


def check_class_sizes(dataset: Dataset, *, test_size: float, seed: int) -> None:
    """Raise :class:`DatasetError` naming each class too small to train and test on.

    Splits the way every backend does (same ``test_size`` and ``seed``) and counts.
    """
    train, test = dataset.split(test_size=test_size, seed=seed)
    trained, tested = train.counts(), test.counts()
    labels = [
        label
        for label in sorted(dataset.counts())
        if trained.get(label, 0) < MIN_TRAIN_PER_CLASS or tested.get(label, 0) < MIN_TEST_PER_CLASS
    ]
    small = [
        f"{label} ({dataset.counts()[label]} images: {trained.get(label, 0)} to train, "
        f"{tested.get(label, 0)} to test)"
        for label in labels
    ]
    if small:
        # worst case, a class's test share is rounded up: this many images are always enough
        enough = next(
            n
            for n in itertools.count(MIN_TRAIN_PER_CLASS + MIN_TEST_PER_CLASS)
            if n - math.ceil(n * test_size) >= MIN_TRAIN_PER_CLASS
        )
        raise DatasetError(
            f"class(es) too small in {dataset.name}: {', '.join(small)}; every class needs at "
            f"least {MIN_TRAIN_PER_CLASS} images to train on and {MIN_TEST_PER_CLASS} to test on "
            f"({enough} images a class are always enough with test_size {test_size}); add images",
            bad_files=labels,
        )


def as_dataset(
    dataset: object,
    workspace: Workspace,
    *,
    skip_invalid: bool = False,
    progress: bool | None = None,
) -> Dataset:
    """What ``fit``/``plan`` (and ``cloudml-edu train``) accept: a Dataset, an image folder
    ``<class>/<image>``, or the name of a dataset registered in ``workspace``."""
    from cloudml_edu.datasets import Dataset

    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, str | os.PathLike) and str(dataset):
        if Path(dataset).is_dir():
            return Dataset.from_folder(dataset, skip_invalid=skip_invalid, progress=progress)
        if isinstance(dataset, str):
            try:
                return Dataset.load(workspace, dataset)
            except (ConfigError, NotFoundError) as exc:
                mistyped = _neither(dataset, workspace, always=isinstance(exc, ConfigError))
                if mistyped is None:
                    raise  # a plain name, no folder like it: the catalog's answer lists names
                raise mistyped from exc
        raise ConfigError(f"dataset folder {dataset} does not exist; check the path")
    raise ConfigError(
        f"dataset takes a Dataset, an image folder path or a registered dataset name, got "
        f"{type(dataset).__name__}; e.g. trainer.fit(Dataset.from_folder('data/pets')) or "
        "trainer.fit('pets')"
    )


def _neither(given: str, workspace: Workspace, *, always: bool = False) -> NotFoundError | None:
    """The error for a name that is no folder here and no registered dataset when it looks
    like a folder (a path, or close to a folder's name: a mistyped folder), with the nearest
    folder names; None for a plain name unlike any folder (unless ``always``)."""
    import difflib

    path = Path(given)
    parent = path.parent
    try:
        folders = [p.name for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        folders = []
    near = difflib.get_close_matches(path.name, folders, n=3)
    pathlike = "/" in given or os.sep in given or given.startswith((".", "~"))
    if not (always or pathlike or near):
        return None
    hint = f" (did you mean {', '.join(str(parent / n) for n in near)}?)" if near else ""
    names = []
    if workspace.config.databricks is None:  # the local catalog: no request to list it
        with suppress(CloudMLError):
            names = sorted({e.full_name.rsplit(".", 1)[-1] for e in workspace.catalog.list()})
    registered = ", ".join(names) or "none"
    return NotFoundError(
        f"{given!r} is neither an image folder (no folder {path.resolve()}){hint} nor a "
        f"registered dataset (registered: {registered}); check the folder's spelling, or "
        "upload the images first (`cloudml-edu dataset upload FOLDER --name NAME`)"
    )


class Trainer:
    """Train an image classifier with ``backend`` = ``"designer"``, ``"sdk"`` or ``"automl"``.

    ``target`` names where (``"local"``, ``"azureml"``, ``"databricks"`` or a target
    another package adds); by default the one configured target that offers the
    backend, else ``"local"`` (ConfigError when two configured targets offer it).
    Options (keyword-only, understood by every backend): ``test_size``, ``seed``,
    ``image_size``, ``color_mode``, ``gradients``, ``model``, ``params``,
    ``max_trials``, ``timeout_minutes``, ``primary_metric``, ``families``,
    ``experiment`` and ``backend_options`` (passed to the cloud SDK object).
    """

    def __init__(
        self,
        backend: str,
        *,
        workspace: Workspace | None = None,
        target: str | None = None,
        progress: bool | None = None,
        **options: Any,
    ) -> None:
        from cloudml_edu.backends import load_backend
        from cloudml_edu.options import TrainOptions
        from cloudml_edu.workspace import resolve_workspace

        check_text(backend, name="backend", example="'designer', 'sdk' or 'automl'")
        check_text(target, name="target", optional=True, example="'local' or 'azureml'")
        check_flag(progress, name="progress", optional=True)
        workspace = resolve_workspace(workspace)
        try:
            self.options: TrainOptions = TrainOptions(**options)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            valid = ", ".join(TrainOptions.model_fields)
            raise ConfigError(
                f"invalid Trainer option(s): {problems}. Valid options: {valid}"
            ) from None
        self.workspace = workspace
        self.backend_name = backend
        self._backend: Backend = load_backend(
            backend, workspace, self.options, progress=progress, target=target
        )

    @property
    def target(self) -> str:
        """The target this trainer runs on (``"local"``, ``"azureml"``...)."""
        return self._backend.target

    def __repr__(self) -> str:
        return f"Trainer({self.backend_name!r}, target={self._backend.target!r}, workspace={self.workspace!r})"

    def plan(self, dataset: Dataset | str | os.PathLike[str]) -> Plan:
        """What :meth:`fit` would create and run, and what it would cost, without running it."""
        data = as_dataset(dataset, self.workspace)
        check_class_sizes(data, test_size=self.options.test_size, seed=self.options.seed)
        return self._backend.plan(data)

    def begin_fit(self, dataset: Dataset | str | os.PathLike[str]) -> Poller[TrainingRun]:
        """Start training on ``dataset`` (a Dataset, an image folder or a registered name);
        the poller's ``result(timeout=)`` waits for the run.

        The run is in the workspace's run store at once: ``TrainingRun.get(ws, run_id)``
        finds it from another process, notebook or terminal.  Classes too small to train
        and test on raise :class:`DatasetError` first, before anything is written.
        """
        from cloudml_edu.datasets.lineage import note_dataset
        from cloudml_edu.run import TrainingRun, run_poller

        data = as_dataset(dataset, self.workspace)
        check_class_sizes(data, test_size=self.options.test_size, seed=self.options.seed)
        started = self._backend.begin_fit(data)
        note_dataset(self.workspace, started.value.id, data)  # the version stays as it is
        return run_poller(TrainingRun.of(started.value, self.workspace), self._backend)

    def fit(
        self, dataset: Dataset | str | os.PathLike[str], *, timeout: float | None = None
    ) -> TrainingRun:
        """Train on ``dataset`` (a Dataset, an image folder or a registered name; split inside,
        by ``test_size`` and ``seed``), evaluate, return the run.

        Waits at most ``timeout`` seconds (TimeoutError past it; the run goes on);
        BackendError when the run fails.
        """
        check_number(timeout, name="timeout", low=0, optional=True)
        return self.begin_fit(dataset).result(timeout=timeout)
