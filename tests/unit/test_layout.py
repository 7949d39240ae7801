"""The layout keeps its promises: imports flow one way, no module is in an import cycle,
the worker's modules load nothing of the trusted side, and every `grader` module imports."""

from __future__ import annotations

import ast
import collections
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).resolve().parent
ROOT = PACKAGE.parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _import_graph() -> dict[str, set[str]]:
    """module -> the grader modules it imports, at any depth of the code (function-level too)."""
    modules = _modules()

    def owner(dotted: str) -> str:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted

    graph: dict[str, set[str]] = collections.defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("grader"):
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                targets = ["<relative>"]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("grader")]
            for target in targets:
                graph[name].add(target if target == "<relative>" else owner(target))
        graph[name].discard(name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in list(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_grader_module_is_in_an_import_cycle():
    graph = _import_graph()
    assert len(graph) > 40  # the walk really read the package
    assert _cycles(graph) == []


def test_imports_are_absolute():
    relative = [name for name, targets in _import_graph().items() if "<relative>" in targets]
    assert relative == []


def test_every_module_imports():
    for info in pkgutil.walk_packages(grader.__path__, "grader."):
        importlib.import_module(info.name)


def test_the_worker_loads_nothing_of_the_trusted_side():
    """Each module of grader.worker, imported in a fresh isolated interpreter, brings in no
    other grader module (the package `grader` itself is the door, and stays light)."""
    names = sorted(n for n in _modules() if n.startswith("grader.worker."))
    assert {"grader.worker.main", "grader.worker.confine", "grader.worker.protocol"} <= set(names)
    for name in names:
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import {name}; "
                "print('\\n'.join(m for m in sys.modules if m == 'grader' or m.startswith('grader.')))")
        out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        loaded = set(out.stdout.split())
        assert name in loaded
        assert {m for m in loaded if m != "grader" and not m.startswith("grader.worker")} == set(), name


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "2 kept, 0 broken" in out.stdout, out.stdout[-3000:] + out.stderr[-2000:]
