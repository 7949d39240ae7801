"""``grader release``: from a master notebook to the student's notebook and public tests.

Like nbgrader's preprocessors, each step is one small transform, and they are chained:

* :class:`RemoveInstructorCells` drops cells tagged ``instructor``;
* :class:`StripSolutions` turns otter-grader's assign markers into stubs
  (``# BEGIN SOLUTION`` … ``# END SOLUTION`` → ``...``; ``x = 5  # SOLUTION`` → ``x = ...``;
  ``# BEGIN SOLUTION NO PROMPT`` blocks vanish);
* :class:`BlankAnswers` replaces model answers of explanation cells by a prompt;
* :class:`ClearOutputs` empties outputs and execution counts;
* :class:`SetMetadata` records the assignment so ``grader grade`` can infer it;
* :class:`CheckNoLeak` fails when a solution marker survived (a typo in a marker).

The public suite is the grading suite with every ``@pytest.mark.hidden`` test removed
(by AST, so hidden expected values inside those tests never ship).
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .config import Assignment, Course
from .manual import PROMPT, answer_name

BEGIN = re.compile(r"^(?P<indent>\s*)#\s*BEGIN SOLUTION(?P<noprompt>\s+NO PROMPT)?\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
INLINE = re.compile(r"^(?P<lhs>\s*[^#=]+?=)\s*.+?#\s*SOLUTION\s*$")
STUB_COMMENT = "# YOUR CODE HERE"
ALL_HIDDEN = '"""All checks of this exercise are hidden."""'


class ReleaseError(Exception):
    pass


class Preprocessor:
    """One transform of a notebook node (nbformat.NotebookNode), in place."""

    def __call__(self, nb: nbformat.NotebookNode, assignment: Assignment) -> None:
        raise NotImplementedError


class RemoveInstructorCells(Preprocessor):
    def __call__(self, nb, assignment):  # type: ignore[no-untyped-def]
        nb.cells = [c for c in nb.cells if "instructor" not in (c.get("metadata", {}).get("tags") or [])]


def strip_solution_source(source: str) -> str:
    out: list[str] = []
    skipping: re.Match | None = None
    for line in source.split("\n"):
        if skipping is not None:
            if END.match(line):
                if not skipping.group("noprompt"):
                    out.append(f"{skipping.group('indent')}{STUB_COMMENT}")
                    out.append(f"{skipping.group('indent')}...")
                skipping = None
            continue
        begin = BEGIN.match(line)
        if begin:
            skipping = begin
            continue
        inline = INLINE.match(line)
        if inline:
            out.append(f"{inline.group('lhs')} ...  {STUB_COMMENT}")
            continue
        out.append(line)
    if skipping is not None:
        raise ReleaseError("a '# BEGIN SOLUTION' has no '# END SOLUTION'")
    return "\n".join(out)


class StripSolutions(Preprocessor):
    def __call__(self, nb, assignment):  # type: ignore[no-untyped-def]
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = strip_solution_source(cell.source)


class BlankAnswers(Preprocessor):
    def __call__(self, nb, assignment):  # type: ignore[no-untyped-def]
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                first = cell.source.split("\n", 1)[0]
                if answer_name(first):
                    cell.source = f"{first}\n{PROMPT}"


class ClearOutputs(Preprocessor):
    def __call__(self, nb, assignment):  # type: ignore[no-untyped-def]
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
            cell.get("metadata", {}).pop("execution", None)


class SetMetadata(Preprocessor):
    def __call__(self, nb, assignment):  # type: ignore[no-untyped-def]
        nb.metadata["grader"] = {"assignment": assignment.name}


class CheckNoLeak(Preprocessor):
    def __call__(self, nb, assignment):  # type: ignore[no-untyped-def]
        for i, cell in enumerate(nb.cells):
            if re.search(r"(BEGIN|END) SOLUTION|#\s*SOLUTION\s*$", cell.source, re.MULTILINE):
                raise ReleaseError(f"{assignment.notebook.name}: cell {i + 1} still holds a solution marker after release")


PIPELINE: tuple[Preprocessor, ...] = (
    RemoveInstructorCells(), StripSolutions(), BlankAnswers(), ClearOutputs(), SetMetadata(), CheckNoLeak(),
)


def student_notebook(assignment: Assignment) -> str:
    nb = nbformat.read(str(assignment.notebook), as_version=4)
    nb = copy.deepcopy(nb)
    for step in PIPELINE:
        step(nb, assignment)
    return nbformat.writes(nb) + "\n"


def _is_hidden(decorator: ast.expr) -> bool:
    """``@pytest.mark.hidden`` / ``@mark.hidden`` (with or without a call)."""
    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(node, ast.Attribute) and node.attr == "hidden" and "mark" in ast.unparse(node.value)


def _hidden_module(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
               and "hidden" in ast.unparse(node.value) for node in tree.body)


def hidden_check_count(course: Course, assignment: Assignment) -> int | None:
    """How many hidden checks (test functions or classes) the assignment has; None if unknown.

    Read from the grading suite when it is there; in a student's copy of the course only
    the public suite exists, and its first line (written by :func:`public_suite`) says.
    """
    try:
        if assignment.suite.is_file():
            tree = ast.parse(assignment.suite.read_text("utf-8"))
            tests = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name.startswith(("test", "Test"))]
            if _hidden_module(tree):
                return len(tests)
            return sum(1 for n in tests if any(_is_hidden(d) for d in n.decorator_list))
        first = public_suite_path(course, assignment).read_text("utf-8").split("\n", 1)[0]
    except (OSError, SyntaxError, ValueError):
        return None
    if first.startswith(ALL_HIDDEN):
        return None  # every check is hidden, how many is not shipped
    match = re.match(r"# Public checks only: (\d+) hidden check", first)
    return int(match.group(1)) if match else None


def public_suite(source: str) -> str:
    """The suite without its hidden tests (functions and classes marked hidden)."""
    tree = ast.parse(source)
    if _hidden_module(tree):
        return f'{ALL_HIDDEN}\n'
    kept = [
        node for node in tree.body
        if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and any(_is_hidden(d) for d in node.decorator_list))
    ]
    removed = len(tree.body) - len(kept)
    lines = source.split("\n")
    out_lines: list[str] = []
    keep_ids = {id(n) for n in kept}
    cursor = 0
    for node in tree.body:
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        end = node.end_lineno or node.lineno
        if id(node) not in keep_ids:
            out_lines.extend(lines[cursor:start])
            cursor = end
    out_lines.extend(lines[cursor:])
    text = re.sub(r"\n{4,}", "\n\n\n", "\n".join(out_lines))
    header = f"# Public checks only: {removed} hidden check(s) are run by the grader, not shipped.\n"
    return header + text


@dataclass
class Release:
    files: dict[Path, str]  # path -> content

    def stale(self) -> list[Path]:
        return [p for p, text in self.files.items() if not p.is_file() or p.read_text("utf-8") != text]

    def write(self) -> list[Path]:
        from .results import atomic_write

        changed = self.stale()
        for path in changed:
            atomic_write(path, self.files[path])
        return changed


def build_release(course: Course, names: list[str] | None = None) -> Release:
    files: dict[Path, str] = {}
    for name in names or sorted(course.assignments):
        spec = course.assignment(name)
        if not spec.notebook.is_file():
            raise ReleaseError(f"{name}: master notebook {spec.notebook} does not exist")
        folder = course.assignments_dir / name
        files[folder / spec.student_notebook_name] = student_notebook(spec)
        files[folder / "tests" / spec.suite.name] = public_suite(spec.suite.read_text("utf-8"))
        for helper in sorted(spec.suite.parent.glob("*.py")):
            if helper != spec.suite and not helper.name.startswith(("test_", "make_", "hidden_")):
                files[folder / "tests" / helper.name] = helper.read_text("utf-8")
    return Release(files)


def public_suite_path(course: Course, assignment: Assignment) -> Path:
    return course.assignments_dir / assignment.name / "tests" / assignment.suite.name
