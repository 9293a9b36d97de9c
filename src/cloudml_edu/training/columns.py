"""The columns a served model reads and writes: the contract between the model and its clients.

No imports on purpose: the served model ships this file (see
:mod:`cloudml_edu.training.pyfunc`), and :mod:`cloudml_edu.scoring` reads it
to build requests and parse answers.
"""

__all__ = ["INPUT_COLUMN", "PROBA_PREFIX"]

#: The input column: base64 of an encoded image file (PNG, JPEG...), one row per image.
INPUT_COLUMN = "image"
#: Output columns ``p:<class>`` hold each class's probability, next to ``label`` and ``score``.
PROBA_PREFIX = "p:"
