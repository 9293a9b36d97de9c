"""The options a student passes to ``Trainer``: the same ones for every backend and target.

Each run keeps its options as data (``TrainingRun.options``), so reports read
the model family, primary metric and features from the run instead of parsing
display text.  :meth:`TrainOptions.for_record` redacts secrets first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cloudml_edu._secrets import redact_data, register_option_secrets

if TYPE_CHECKING:
    from cloudml_edu.training.features import FeatureSpec

__all__ = ["PrimaryMetric", "TrainOptions"]

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

    @model_validator(mode="after")
    def _register_secrets(self) -> TrainOptions:
        """Remember the credentials in ``backend_options`` (by key name or shape), so that
        plans, job YAML, run records, logs and ``--json`` never show them; the adapters
        still pass the values themselves to the service when they submit."""
        register_option_secrets(self.backend_options)
        return self

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        from cloudml_edu.training.models import canonical_model

        return canonical_model(value)  # ConfigError (a ValueError's sibling) names the choices

    @field_validator("families")
    @classmethod
    def _known_families(cls, value: list[str] | None) -> list[str] | None:
        from cloudml_edu.training.models import FAMILIES

        unknown = [f for f in value or [] if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown families {unknown}; choose from: {', '.join(FAMILIES)}")
        return value

    def feature_spec(self) -> FeatureSpec:
        from cloudml_edu.training.features import FeatureSpec

        return FeatureSpec(size=self.image_size, mode=self.color_mode, gradients=self.gradients)

    def model_params(self) -> dict[str, Any]:
        """The hyperparameters for ``model``: the user's, else the model's defaults."""
        from cloudml_edu.training.models import default_params

        return dict(self.params) if self.params else default_params(self.model)

    def for_record(self) -> TrainOptions:
        """A copy safe to store on a run: secrets in ``backend_options`` become ``***``."""
        if not self.backend_options:
            return self
        return self.model_copy(update={"backend_options": redact_data(self.backend_options)})
