"""The house's layers and the imports between testing/'s files, read from the code (every import
statement, those inside functions included). Used by tests/test_layers.py and printable on its own:
``python tests/layers.py`` lists each upward import and each circle."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "testing"

# lowest first; a file may import its own layer and the layers below it
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_core",),
    ("_upstream_api",),
    ("_helpers", "_fork"),
    ("_ranks",),
    ("_runner",),
)
TOP = len(LAYERS)  # the facades on upstream's paths and the public doors


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 1:
        for level, names in enumerate(LAYERS):
            if parts[1] in names:
                return level
    return TOP


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: dict[str, Path], this: str = "") -> set[str]:
    """The testing modules ``path`` imports (``from X import y`` counts X.y when that is a module)."""
    this = this or module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != this and name != "testing":
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) for name, path in known.items()}


def upward(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, targets in edges.items() for b in targets if layer_of(b) > layer_of(a))


def sideways(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports between the different folders of one level (``_helpers`` and ``_fork`` stand side by side)."""
    def folder(m: str) -> str:
        return m.split(".")[1] if m.count(".") else ""
    return sorted((a, b) for a, targets in edges.items() for b in targets
                  if layer_of(a) == layer_of(b) < TOP and folder(a) != folder(b))


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more files (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def folder_lines() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).parts
        key = rel[0] if len(rel) > 1 and rel[0].startswith("_") else "(facades and doors)"
        counts[key] = counts.get(key, 0) + len(path.read_text(encoding="utf-8").splitlines())
    return counts


if __name__ == "__main__":
    edges = graph()
    for a, b in upward(edges):
        print(f"up: {a} -> {b}")
    for a, b in sideways(edges):
        print(f"sideways: {a} -> {b}")
    for group in circles(edges):
        print("circle: " + ", ".join(group))
    total = sum(folder_lines().values())
    for key, n in sorted(folder_lines().items(), key=lambda kv: -kv[1]):
        print(f"{key:22} {n:6} lines  {n / total:5.1%}")
