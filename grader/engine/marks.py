"""The marks a suite puts on its checks, as validated data: one definition for the plugin,
``grader release`` and ``grader validate``.

=========================  ==============================================================
``@pytest.mark.points(n)``  what the check is worth: one number >= 0 (a bare ``points`` is an
                            error, not 1 point); default 1
``@pytest.mark.hidden``     not shipped to students, not run by ``grader.check``; no arguments
``@pytest.mark.target(s)``  the graded name the check is about: one string
``@pytest.mark.budget(s)``  seconds of worker time the check's calls may use: one number > 0;
                            default ``[limits] check_timeout``
=========================  ==============================================================

Suites run with ``--strict-markers``: a marker that is neither one of these nor one of
pytest's own (``parametrize``, ``skip``, …) stops collection. :func:`check_suite` finds the
same mistakes statically, with file, line and marker, so ``grader release`` refuses to ship
a suite whose ``@pytest.mark.hiden`` would have made a hidden check public.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.config import Assignment, Course, public_suite_path

# name -> (ini line, argument kind)
MARKERS: dict[str, tuple[str, str]] = {
    "points": ("points(n): points this check is worth (default 1; 0: a check that only informs)", "points"),
    "hidden": ("hidden: not shown to students, not run by grader check", "none"),
    "target": ("target(name): the graded name this check is about", "name"),
    "budget": ("budget(seconds): worker time this check may use (default: [limits] check_timeout)", "number"),
}
# markers pytest and its plugins in our dependencies register themselves
PYTEST_MARKERS = frozenset({"parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings",
                            "timeout", "tryfirst", "trylast"})
ALL_HIDDEN = '"""All checks of this exercise are hidden."""'


class MarkError(ValueError):
    """A malformed or unknown mark on a check: the suite is wrong, not the submission."""


@dataclass(frozen=True)
class Marks:
    points: float
    hidden: bool
    target: str | None
    budget: float | None = None  # seconds of worker time (None: the course's check_timeout)


def _check_args(name: str, args: tuple, kwargs: dict) -> str | None:
    """What is wrong with ``@pytest.mark.<name>(*args, **kwargs)``, or None."""
    kind = MARKERS[name][1]
    if kwargs:
        return f"@pytest.mark.{name} takes no keyword arguments"
    if kind == "none":
        return None if not args else f"@pytest.mark.{name} takes no arguments"
    if len(args) != 1:
        return f"@pytest.mark.{name} needs exactly one argument ({MARKERS[name][0].split(':')[0]})"
    value = args[0]
    if kind in ("number", "points"):
        least = 0 if kind == "points" else None  # points may be 0; a budget must be > 0
        number = not isinstance(value, bool) and isinstance(value, (int, float))
        if not number or (value < 0 if least == 0 else value <= 0):
            return f"@pytest.mark.{name}({value!r}): {name} must be a number {'>= 0' if least == 0 else '> 0'}"
    elif kind == "name" and (not isinstance(value, str) or not value.strip()):
        return f"@pytest.mark.{name}({value!r}): the target must be a graded name (a string)"
    return None


def read_marks(item: Any) -> Marks:
    """A collected test's marks, validated (``MarkError`` names the test and the mark)."""
    values: dict[str, Any] = {}
    for name in MARKERS:
        marker = item.get_closest_marker(name)
        if marker is None:
            continue
        problem = _check_args(name, tuple(marker.args), dict(marker.kwargs))
        if problem:
            raise MarkError(f"{item.nodeid}: {problem}")
        values[name] = marker.args[0] if marker.args else True
    return Marks(points=float(values.get("points", 1.0)), hidden="hidden" in values, target=values.get("target"),
                 budget=float(values["budget"]) if "budget" in values else None)


def register(config: Any) -> None:
    """Register the marks with pytest (the suite runs with ``--strict-markers``)."""
    for line, _kind in MARKERS.values():
        config.addinivalue_line("markers", line)


# ---------------------------------------------------------------------- the suite's source
def _mark_name(node: ast.expr) -> str | None:
    """``X`` of ``pytest.mark.X``/``mark.X`` (called or not), else None."""
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        base = target.value
        if (isinstance(base, ast.Attribute) and base.attr == "mark") or (isinstance(base, ast.Name) and base.id == "mark"):
            return target.attr
    return None


def _literal_args(node: ast.expr) -> tuple[tuple, dict] | None:
    if not isinstance(node, ast.Call):
        return (), {}
    try:
        return (tuple(ast.literal_eval(a) for a in node.args),
                {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg})
    except ValueError:
        return None  # not literals: checked when the suite is collected


def check_suite(source: str, path: str | Path = "<suite>") -> list[str]:
    """Every unknown or malformed mark in a suite's source, as ``path:line: message``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"{path}:{exc.lineno}: the suite has a syntax error: {exc.msg}"]
    problems = []
    for node in ast.walk(tree):
        marks: list[ast.expr] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            marks = list(node.decorator_list)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            marks = list(node.value.elts) if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
        for mark in marks:
            name = _mark_name(mark)
            if name is None or name in PYTEST_MARKERS:
                continue
            if name not in MARKERS:
                close = [m for m in MARKERS if _similar(m, name)]
                hint = f" (did you mean @pytest.mark.{close[0]}?)" if close else ""
                problems.append(f"{path}:{mark.lineno}: unknown marker @pytest.mark.{name}{hint}; "
                                f"known: {', '.join(sorted(MARKERS))} and pytest's own")
                continue
            args = _literal_args(mark)
            if args is not None and (problem := _check_args(name, *args)):
                problems.append(f"{path}:{mark.lineno}: {problem}")
    return problems


def _similar(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.7


def is_hidden_mark(decorator: ast.expr) -> bool:
    return _mark_name(decorator) == "hidden"


def hidden_module(tree: ast.Module) -> bool:
    """The module sets ``pytestmark`` to (a list holding) ``pytest.mark.hidden``."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            marks = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            if any(is_hidden_mark(m) for m in marks):
                return True
    return False


def hidden_check_count(course: Course, assignment: Assignment) -> int | None:
    """How many hidden checks (test functions or classes) a suite has; None if unknown.

    Read from the grading suite when it is there; in a student's copy of the course only
    the public suite exists, and its first line (written by ``grader release``) says.
    """
    suite = assignment.suite
    try:
        if suite.is_file():
            tree = ast.parse(suite.read_text("utf-8"))
            tests = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name.startswith(("test", "Test"))]
            if hidden_module(tree):
                return len(tests)
            return sum(1 for n in tests if any(is_hidden_mark(d) for d in n.decorator_list))
        first = public_suite_path(course, assignment).read_text("utf-8").split("\n", 1)[0]
    except (OSError, SyntaxError, ValueError):
        return None
    if first.startswith(ALL_HIDDEN):
        return None  # every check is hidden, how many is not shipped
    match = re.match(r"# Public checks only: (\d+) hidden check", first)
    return int(match.group(1)) if match else None


def _parametrize_count(decorators: list[ast.expr]) -> int | None:
    """How many cases stacked ``@pytest.mark.parametrize(names, [literal list])`` make (1 if none)."""
    count = 1
    for decorator in decorators:
        if _mark_name(decorator) != "parametrize" or not isinstance(decorator, ast.Call):
            continue
        values = decorator.args[1] if len(decorator.args) > 1 else next(
            (k.value for k in decorator.keywords if k.arg == "argvalues"), None)
        if not isinstance(values, (ast.List, ast.Tuple)):
            return None  # computed cases: known only once collected
        count *= len(values.elts)
    return count


def _points(decorators: list[ast.expr]) -> float | None:
    for decorator in decorators:
        if _mark_name(decorator) == "points":
            args = _literal_args(decorator)
            if args is None or len(args[0]) != 1 or _check_args("points", *args):
                return None
            return float(args[0][0])
    return 1.0


def suite_max_score(course: Course, assignment: Assignment) -> float:
    """The assignment's total points, read from its grading suite without running it (for a
    row no suite ran on: a refused file, a runner that died); 0.0 when it cannot be known
    statically (cases computed at collection, marks that are not literals)."""
    try:
        tree = ast.parse(assignment.suite.read_text("utf-8"))
    except (OSError, SyntaxError, ValueError):
        return 0.0
    total = 0.0
    for node in tree.body:
        tests: list[tuple[list[ast.expr], ast.AST]] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            tests.append((node.decorator_list, node))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            tests += [(node.decorator_list + m.decorator_list, m) for m in node.body
                      if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name.startswith("test")]
        for decorators, _ in tests:
            points, cases = _points(decorators), _parametrize_count(decorators)
            if points is None or cases is None:
                return 0.0
            total += points * cases
    return total
