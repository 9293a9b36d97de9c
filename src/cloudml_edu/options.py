"""The options a student passes to ``Trainer``: the same ones for every backend and target.

Each run keeps its options as data (``TrainingRun.options``), so reports read
the model family, primary metric and features from the run instead of parsing
display text.  :meth:`TrainOptions.for_record` redacts secrets first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cloudml_edu._secrets import redact_data, register_option_secrets

if TYPE_CHECKING:
    from cloudml_edu.training.features import FeatureSpec

__all__ = [
    "COLOR_MODES",
    "PrimaryMetric",
    "TrainOptions",
    "colour_of",
    "describe_colour",
    "is_colour_mode",
]

PrimaryMetric = Literal["accuracy", "f1_macro", "f1_weighted", "log_loss"]
ColorMode = Literal["auto", "L", "RGB"]
#: What ``color_mode`` accepts (any case): ``auto`` is RGB for a colour dataset, else L.
COLOR_MODES: tuple[str, ...] = ("auto", "L", "RGB")
_COLOR_BY_LOWER = {mode.lower(): mode for mode in COLOR_MODES}
#: Pillow modes that carry colour (``P`` palettes usually do).
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"})


def is_colour_mode(mode: str) -> bool:
    """Whether an image of Pillow mode ``mode`` is stored in colour."""
    return mode in _COLOUR_MODES


def describe_colour(asked: str, modes: Iterable[str]) -> str:
    """One line saying which colour mode a run uses and why (shown by ``train`` and plans)."""
    found = list(modes)
    coloured = sum(is_colour_mode(mode) for mode in found)
    share = f"{coloured} of {len(found)} images stored in colour"
    if asked != "auto":
        return f"colour mode {asked} (as asked; {share})"
    chosen = colour_of(found)
    other = "L" if chosen == "RGB" else "RGB"
    return f"colour mode {chosen} (auto: {share}; --color-mode {other} to change)"


def colour_of(modes: Iterable[str]) -> Literal["L", "RGB"]:
    """The colour mode ``auto`` picks for images of these Pillow modes: RGB when at least
    half are stored in colour, else L (grayscale)."""
    found = list(modes)
    coloured = sum(is_colour_mode(mode) for mode in found)
    return "RGB" if found and 2 * coloured >= len(found) else "L"


class TrainOptions(BaseModel):
    """Options every backend understands; the same student script works with each.

    ``backend_options`` is the escape hatch: passed unchanged to the service's SDK
    object by cloud adapters (ignored, with a warning, by local backends).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    test_size: float = Field(default=0.2, gt=0, lt=1)
    seed: int = 0
    image_size: int = Field(default=16, ge=4, le=256)
    color_mode: ColorMode = "auto"
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

    @field_validator("color_mode", mode="before")
    @classmethod
    def _known_color_mode(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in _COLOR_BY_LOWER:
            return _COLOR_BY_LOWER[value.strip().lower()]
        return value  # the Literal refuses it, naming auto, L and RGB

    @field_validator("families")
    @classmethod
    def _known_families(cls, value: list[str] | None) -> list[str] | None:
        from cloudml_edu.training.models import FAMILIES

        unknown = [f for f in value or [] if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown families {unknown}; choose from: {', '.join(FAMILIES)}")
        return value

    def for_images(self, modes: Iterable[str]) -> TrainOptions:
        """These options with ``color_mode="auto"`` decided for images of Pillow ``modes``."""
        if self.color_mode != "auto":
            return self
        return self.model_copy(update={"color_mode": colour_of(modes)})

    def feature_spec(self) -> FeatureSpec:
        """How images become features; ``color_mode`` must be decided (see :meth:`for_images`)."""
        from cloudml_edu.training.features import FeatureSpec

        if self.color_mode == "auto":
            raise ValueError("color_mode 'auto' is decided per dataset: call for_images() first")
        mode: Literal["L", "RGB"] = self.color_mode
        return FeatureSpec(size=self.image_size, mode=mode, gradients=self.gradients)

    def model_params(self) -> dict[str, Any]:
        """The hyperparameters for ``model``: the user's, else the model's defaults."""
        from cloudml_edu.training.models import default_params

        return dict(self.params) if self.params else default_params(self.model)

    def for_record(self) -> TrainOptions:
        """A copy safe to store on a run: secrets in ``backend_options`` become ``***``."""
        if not self.backend_options:
            return self
        return self.model_copy(update={"backend_options": redact_data(self.backend_options)})
