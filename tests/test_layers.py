"""Contracts between the layers, read from the source: a wrong import fails here first.

- core (everything but app/ui) never imports textual, and reaches app/ui only where the
  command line starts the TUI (inside a function of app/cli.py);
- app/api, app/jobs and app/images never reach app/simulator (nor app/ui);
- no import cycles anywhere in app/, counting imports inside functions and under
  TYPE_CHECKING (a cycle hidden in a function is still two modules that need each other).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
UI_ONLY = ("textual", "textual_image")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str  # an app module, or a top-level third-party package name
    nested: bool  # inside a function: runs when called, not when imported


def _modules() -> dict[str, Path]:
    out = {}
    for path in APP.rglob("*.py"):
        parts = list(path.relative_to(APP.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str:
    """The app module ``name`` names (a module, or its package), else its top package."""
    if not name.startswith("app"):
        return name.split(".")[0]
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path) -> list[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    edges: list[Edge] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                edges.extend(Edge(module, _resolve(a.name), inner) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*up, *([base] if base else [])])
                for alias in child.names:
                    full = f"{base}.{alias.name}"  # `from pkg import submodule`
                    edges.append(Edge(module, _resolve(full if full in MODULES else base), inner))
            visit(child, inner)

    visit(tree, False)
    return [e for e in edges if e.target != module]


EDGES = [edge for module, path in MODULES.items() for edge in _imports(module, path)]


def _in(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _reachable(start: set[str]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        module = todo.pop()
        for edge in EDGES:
            if edge.source == module and edge.target in MODULES and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def app_graph() -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {m: [] for m in MODULES}
    for edge in EDGES:
        if edge.target in MODULES:
            graph[edge.source].append(edge.target)
    return graph


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        cycles.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(cycles)


def test_the_import_graph_is_read() -> None:
    # The checks below mean something only if the graph holds the imports we know of.
    edges = {(e.source, e.target) for e in EDGES}
    assert ("app.jobs.manager", "app.jobs.store") in edges
    assert ("app.ui.app", "textual") in edges
    # and the cycle finder finds cycles, long and short, and nothing else
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["f"], "f": ["e"]}
    assert find_cycles(graph) == [["a", "b", "c"], ["e", "f"]]


def test_core_never_imports_textual() -> None:
    bad = [e for e in EDGES if e.target in UI_ONLY and not _in(e.source, "app.ui")]
    assert bad == [], f"core modules import textual: {bad}"
    # app/ui is reached from core only where the command line starts the TUI, on demand
    into_ui = [e for e in EDGES if _in(e.target, "app.ui") and not _in(e.source, "app.ui")]
    assert all(e.source == "app.cli" and e.nested for e in into_ui), into_ui


def test_api_jobs_and_images_never_reach_the_simulator_or_the_ui() -> None:
    start = {m for m in MODULES if _in(m, "app.api", "app.jobs", "app.images")}
    bad = sorted(m for m in _reachable(start) if _in(m, "app.simulator", "app.ui"))
    assert bad == [], f"api/jobs/images reach {bad}"


def test_no_import_cycles() -> None:
    assert find_cycles(app_graph()) == []


def test_core_modules_do_not_import_textual_when_run() -> None:
    core = sorted(m for m in MODULES if not _in(m, "app.ui") and m != "app.__main__")
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m == 'textual' or m.startswith(('textual.', 'textual_image')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imports textual: {out.stdout.strip()}"
