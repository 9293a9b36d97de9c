"""Image-classification datasets (facade): ``from cloudml_edu.dataset import Dataset``.

The implementation is the :mod:`cloudml_edu.datasets` package.
"""

from cloudml_edu.datasets import Dataset

__all__ = ["Dataset"]
