"""Azure ML's command text substitution: ``${{inputs.x}}``, ``${{outputs.x}}`` and ``$[[...]]``.

Azure ML pastes each value into the command as text (no quoting) and runs the
result in a shell; an optional block ``$[[ ... ]]`` is kept (without its brackets)
when every input it names was given, and dropped otherwise.  The fake and the
components' tests both use this, so a command that breaks on a value with
spaces breaks here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["substitute"]

_REF = re.compile(r"\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}")
_OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.S)


def substitute(command: str, inputs: Mapping[str, str | None], outputs: Mapping[str, str]) -> str:
    """``command`` with its references replaced; KeyError names a reference with no value."""

    def value(kind: str, name: str) -> str | None:
        return inputs.get(name) if kind == "inputs" else outputs.get(name)

    def optional(match: re.Match[str]) -> str:
        block = match.group(1)
        refs = _REF.findall(block)
        return block if all(value(k, n) is not None for k, n in refs) else ""

    def required(match: re.Match[str]) -> str:
        kind, name = match.groups()
        found = value(kind, name)
        if found is None:
            raise KeyError(f"{kind}.{name}")
        return found

    return _REF.sub(required, _OPTIONAL.sub(optional, command))
