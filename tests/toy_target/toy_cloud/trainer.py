"""The toy ``sdk`` trainer: the local sdk job, recorded as a run of target ``toy``."""

from typing import ClassVar

from cloudml_edu.backends.local.sdk import SdkBackend


class ToySdkBackend(SdkBackend):
    """Runs the training script as a subprocess, like the local sdk backend."""

    target: ClassVar[str] = "toy"
