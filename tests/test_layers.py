"""The layers contract: which module may import which, counting imports inside functions.

docs/architecture.md ("The layers") states these rules; this test is what checks
them.  Every ``import`` and ``from ... import`` of ``cloudml_edu`` in
``src/cloudml_edu`` counts, at module level or inside a function; only imports
under ``if TYPE_CHECKING:`` (annotations, never run) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "cloudml_edu"

#: Layers from the top down: a module may import its own layer and the layers below it.
#: A module belongs to the layer of the longest prefix that names it (``cloudml_edu`` itself
#: names only the package's ``__init__``, so every new module must be placed here).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "entry points",
        (
            "cloudml_edu.cli",
            "cloudml_edu.demo",
            "cloudml_edu.report",
            "cloudml_edu.testing",
            "cloudml_edu.training.__main__",
            "cloudml_edu.training.steps",
        ),
    ),
    (
        "facade",
        (
            "cloudml_edu",
            "cloudml_edu.workspace",
            "cloudml_edu.datasets",
            "cloudml_edu.trainer",
            "cloudml_edu.run",
            "cloudml_edu.endpoint",
            "cloudml_edu.metrics",
            "cloudml_edu.repair",
            "cloudml_edu.handin",
            "cloudml_edu.new_images",
            "cloudml_edu.measurements",
        ),
    ),
    ("registry", ("cloudml_edu.backends",)),
    (
        "adapters",
        (
            "cloudml_edu.backends.local",
            "cloudml_edu.backends.azureml",
            "cloudml_edu.backends.databricks",
            "cloudml_edu.backends._command",
        ),
    ),
    ("backend contracts", ("cloudml_edu.backends.base", "cloudml_edu.backends.template")),
    (
        "stores and ML",
        (
            "cloudml_edu.run_store",
            "cloudml_edu.catalog",
            "cloudml_edu.storage",
            "cloudml_edu.training",
            "cloudml_edu.scoring",
            "cloudml_edu.pricing",
            "cloudml_edu.manifest",
            "cloudml_edu.environments",
            "cloudml_edu.samples",
        ),
    ),
    (
        "records",
        (
            "cloudml_edu.records",
            "cloudml_edu.options",
            "cloudml_edu.training.features",
            "cloudml_edu.training.models",
            "cloudml_edu.training.columns",
        ),
    ),
    (
        "plumbing",
        (
            "cloudml_edu.errors",
            "cloudml_edu.config",
            "cloudml_edu.targets",
            "cloudml_edu.checks",
            "cloudml_edu._checks",
            "cloudml_edu._encoding",
            "cloudml_edu._http",
            "cloudml_edu._images",
            "cloudml_edu._lazy",
            "cloudml_edu._locks",
            "cloudml_edu._notebook",
            "cloudml_edu._paths",
            "cloudml_edu._polling",
            "cloudml_edu._progress",
            "cloudml_edu._quiet",
            "cloudml_edu._secrets",
            "cloudml_edu._sqlite",
            "cloudml_edu._units",
            "cloudml_edu.config_templates",
            "cloudml_edu._version",
        ),
    ),
)
ADAPTER_PACKAGES = (
    "cloudml_edu.backends.local",
    "cloudml_edu.backends.azureml",
    "cloudml_edu.backends.databricks",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _owner(name: str) -> str | None:
    """The module (or package) of ``MODULES`` that ``name`` (a module or a name in one) is."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of ``module``'s layer (the longest matching prefix wins)."""
    best, rank = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix == "cloudml_edu" and module != prefix:
                continue  # the package's __init__ only
            if _within(module, prefix) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{module} is in no layer: add it to LAYERS (and to docs/architecture.md)"
    return rank


def imports_of(module: str) -> set[str]:
    """The ``cloudml_edu`` modules ``module`` imports, inside functions too, TYPE_CHECKING aside."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            owner = _owner(name) if _within(name, "cloudml_edu") else None
            if owner is not None and owner != module:
                found.add(owner)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_imports_point_down_only() -> None:
    """Adapters never import the facade or the registry; plumbing never imports above itself."""
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if layer_of(target) < layer_of(module)
    ]
    assert upward == []


def test_an_adapter_imports_no_other_adapter() -> None:
    crossing = [
        f"{module} imports {target}"
        for module, targets in sorted(GRAPH.items())
        for package in ADAPTER_PACKAGES
        if _within(module, package)
        for target in sorted(targets)
        if any(_within(target, other) for other in ADAPTER_PACKAGES if other != package)
    ]
    assert crossing == []


def test_no_import_cycles() -> None:
    """No module reaches itself through imports (a package counts as its ``__init__``)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in GRAPH[module]:
            if _within(module, target):
                continue  # a module importing its own package's __init__ is not a cycle
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize(
    ("module", "target"),
    [
        ("cloudml_edu.backends.local.sdk", "cloudml_edu.run"),
        ("cloudml_edu.backends.azureml.attach", "cloudml_edu.backends"),
        ("cloudml_edu._polling", "cloudml_edu.records.run"),
        ("cloudml_edu.records.run", "cloudml_edu.backends.template"),
    ],
)
def test_the_contract_would_catch_an_upward_import(module: str, target: str) -> None:
    """The check itself: each of these imports, were it written, points up."""
    assert layer_of(target) < layer_of(module)
