"""The house's import graph: no cycles anywhere, and dependencies point one way.

The graph is read from the source with ``ast`` (function-level imports included, since a cycle
hidden in a function still ties two modules together), over every package of the product, the
stand-ins and the benchmarks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "commands", "cloud", "storage", "sandbox", "bench")
LAYERS = {
    "bot": {"bot", "commands", "cloud", "storage"},
    "commands": {"commands", "cloud", "storage"},
    "cloud": {"cloud"},
    "storage": {"storage"},
    "sandbox": {"sandbox"},
}
"""What each package may import of the house (``bench`` and tests may import anything)."""


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The house's modules that ``path`` imports, resolved to module names."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    modules = {_module(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        graph[name] = {_owner(target, modules) for target in _imports(path)} - {None, name}
    return graph  # type: ignore[return-value]


def _owner(target: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in: ``a.b.c`` is module ``a.b.c``, or name ``c`` of ``a.b``."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node], _ = 2, stack.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_there_is_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_dependencies_point_one_way() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if module.split(".")[0] in LAYERS and target.split(".")[0] not in LAYERS[module.split(".")[0]]
    ]
    assert wrong == []
