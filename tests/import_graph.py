#!/usr/bin/env python
"""The import graph of the ``bionn`` package, read from the source (nothing is imported), and its
cycles.

Every ``import`` / ``from ... import`` statement counts, wherever it stands (module level, inside a
function, under ``if TYPE_CHECKING``): a lazy import inside a function is still a dependency, and
a circle of them is what makes a package hard to read. ``from . import x`` counts as an import of
the submodule ``x`` when there is one, otherwise of the package itself. The implicit import of a
package's ``__init__`` by its submodules is not an edge.

    python tests/import_graph.py            # prints the cycles (exit 1) or "no import cycle"
    python tests/import_graph.py --edges    # every edge
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "bionn"


def module_names(root: Path = PACKAGE) -> Dict[str, Path]:
    """``{"bionn.nn.focus": path, ...}`` for every module of the package (packages by __init__)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, target: str) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def edges(root: Path = PACKAGE) -> Dict[str, Set[str]]:
    """For each module, the package modules it imports."""
    names = module_names(root)
    graph: Dict[str, Set[str]] = {m: set() for m in names}
    for module, path in names.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: List[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node.level, node.module or "") if node.level else node.module
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in names else base)
            for t in targets:
                # the deepest package module named by t (``import bionn.nn.focus`` -> bionn.nn.focus)
                while t and t not in names:
                    t = t.rpartition(".")[0]
                if t and t != module and not module.startswith(t + "."):
                    graph[module].add(t)
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    out: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(1000, 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def main(argv: List[str]) -> int:
    graph = edges()
    if "--edges" in argv:
        for m in sorted(graph):
            for t in sorted(graph[m]):
                print(f"{m} -> {t}")
    found = cycles(graph)
    for comp in found:
        print("import cycle:", " <-> ".join(comp))
    if not found:
        print(f"no import cycle ({len(graph)} modules, {sum(map(len, graph.values()))} edges)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
