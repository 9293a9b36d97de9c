"""What every backend implements, and the options a student passes to ``Trainer``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from cloudml_edu.dataset import Dataset
    from cloudml_edu.run import Plan, TrainingRun
    from cloudml_edu.training.features import FeatureSpec
    from cloudml_edu.workspace import Workspace

__all__ = ["Backend", "TrainOptions"]

PrimaryMetric = Literal["accuracy", "f1_macro", "f1_weighted", "log_loss"]


class TrainOptions(BaseModel):
    """Options every backend understands; the same student script works with each.

    ``backend_options`` is the escape hatch: passed unchanged to the service's SDK
    object by cloud adapters (ignored, with a warning, by local backends).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    test_size: float = Field(default=0.2, gt=0, lt=1)
    seed: int = 0
    image_size: int = Field(default=16, ge=4, le=256)
    color_mode: Literal["L", "RGB"] = "L"
    gradients: bool = True
    model: str = "svc"
    params: dict[str, Any] = Field(default_factory=dict)
    max_trials: int = Field(default=12, ge=1, le=500)
    timeout_minutes: float = Field(default=2.0, gt=0)
    primary_metric: PrimaryMetric = "accuracy"
    families: list[str] | None = None
    experiment: str = "cloudml-edu"
    backend_options: dict[str, Any] = Field(default_factory=dict)

    def feature_spec(self) -> FeatureSpec:
        from cloudml_edu.training.features import FeatureSpec

        return FeatureSpec(size=self.image_size, mode=self.color_mode, gradients=self.gradients)

    def model_params(self) -> dict[str, Any]:
        """The hyperparameters for ``model``: the user's, else the family's defaults."""
        from cloudml_edu.training.models import DEFAULT_FAMILY, DEFAULT_PARAMS

        if self.params:
            return dict(self.params)
        return dict(DEFAULT_PARAMS) if self.model == DEFAULT_FAMILY else {}


class Backend(Protocol):
    """A way to train: the local designer/sdk/automl, or a cloud adapter."""

    name: ClassVar[str]
    target: ClassVar[str]

    def __init__(
        self, workspace: Workspace, options: TrainOptions, *, progress: bool | None
    ) -> None: ...

    def plan(self, dataset: Dataset) -> Plan:
        """What ``fit`` would do, without doing it."""
        ...

    def fit(self, dataset: Dataset, *, wait: bool) -> TrainingRun:
        """Train; with ``wait=False`` return as soon as the run is submitted."""
        ...

    def refresh(self, run: TrainingRun) -> None:
        """Update ``run`` in place from the backend."""
        ...
