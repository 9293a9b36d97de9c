"""The training job's arguments, shared by the local sdk backend and the Azure ML command job."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudml_edu.backends.base import TrainOptions

__all__ = ["training_arguments"]


def training_arguments(options: TrainOptions, *, data: str, manifest: str | None) -> list[str]:
    """``--data DATA --model ...``: what ``python -m cloudml_edu.training`` is given."""
    o = options
    args = [
        "--data",
        data,
        "--model",
        o.model,
        "--params",
        json.dumps(o.model_params(), sort_keys=True),
        "--test-size",
        str(o.test_size),
        "--seed",
        str(o.seed),
        "--image-size",
        str(o.image_size),
        "--color-mode",
        o.color_mode,
    ]
    if not o.gradients:
        args.append("--no-gradients")
    if manifest is not None:
        args += ["--manifest", manifest]
    return args
