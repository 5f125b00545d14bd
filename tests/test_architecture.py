"""The house stays as built: read ``src/junkdna`` with ``ast`` (nothing is imported) and fail on

* an import circle between modules (imports inside functions count; a package ``__init__`` that
  re-exports its own children does not);
* an import of another module's ``_private`` name (``from m import _x`` or ``m._x``);
* an import that runs up the layers of the README's Architecture section.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "junkdna"

# One-way flow, top to bottom: a module may import its own layer or any layer below. The first
# component of a module's name below ``junkdna`` decides its layer.
LAYERS: list[tuple[str, ...]] = [
    ("__main__", "cli", "commands"),
    ("atlas",),
    ("analysis",),
    ("study",),
    ("transfer", "pruning", "evaluate"),
    ("difficulty",),
    ("tasks", "data"),
    ("models", "masks"),
    ("heads",),
    ("recipe",),
    ("registry", "errors", "paths", "memory", "provenance", "__init__"),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _show(path: Path) -> str:
    return str(path.relative_to(SRC)) if path.is_relative_to(SRC) else str(path)


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(target module, imported name or None, line) for every import in the file, at any depth."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    out.append((_nearest(alias.name), None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # `from junkdna.transfer import data`: the module itself
                    out.append((sub, None, node.lineno))
                else:
                    out.append((_nearest(target), alias.name, node.lineno))
    return out


def _nearest(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _counts(module: str, target: str) -> bool:
    """Whether ``module -> target`` is an edge: a package re-exporting its children is not."""
    if target == module:
        return False
    return not (_is_package(module) and target.startswith(module + "."))


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in _imports(m) if t in MODULES and _counts(m, t)} for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _layer(module: str) -> int:
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else "__init__"
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"{module}: its top-level name {head!r} has no layer in LAYERS")


def test_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_every_module_has_a_layer():
    for m in MODULES:
        _layer(m)


def test_no_import_circle():
    cycles = _cycles(_graph())
    assert not cycles, "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_imports_only_point_down():
    bad = []
    for m in MODULES:
        for t, _, line in _imports(m):
            if t in MODULES and _counts(m, t) and _layer(t) < _layer(m):
                bad.append(f"{_show(MODULES[m])}:{line} imports {t} (a higher layer)")
    assert not bad, "\n".join(bad)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_private_name_of_another_module():
    bad = []
    for m, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound: dict[str, str] = {}  # local alias -> junkdna module it names
        for t, name, line in _imports(m):
            if name is not None and _private(name) and t != m:
                bad.append(f"{_show(path)}:{line} imports {t}.{name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                for alias in node.names:
                    target = (
                        f"{_absolute(m, node)}.{alias.name}"
                        if isinstance(node, ast.ImportFrom)
                        else alias.name
                    )
                    if target in MODULES and target != m:
                        bound[alias.asname or alias.name.split(".")[0]] = target
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and _private(node.attr)
            ):
                bad.append(f"{_show(path)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "code, found",
    [
        ("from junkdna.masks import _x\n", True),
        ("from junkdna import masks\nmasks._x\n", True),
        ("from junkdna.masks import MaskSet\n", False),
    ],
)
def test_private_rule_on_planted_code(tmp_path, monkeypatch, code, found):
    """The private-name rule itself: a planted module that breaks it is caught."""
    planted = tmp_path / "planted.py"
    planted.write_text(code)
    monkeypatch.setitem(MODULES, "junkdna.planted", planted)
    if found:
        with pytest.raises(AssertionError, match="planted"):
            test_no_private_name_of_another_module()
    else:
        test_no_private_name_of_another_module()
