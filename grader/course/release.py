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

from grader.config import Assignment, Course
from grader.engine.marks import ALL_HIDDEN, check_suite, hidden_module, is_hidden_mark
from grader.source.markers import BEGIN_SOLUTION, END_SOLUTION, INLINE_SOLUTION, PROMPT, answer_name

STUB_COMMENT = "# YOUR CODE HERE"


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
            if END_SOLUTION.match(line):
                if not skipping.group("noprompt"):
                    out.append(f"{skipping.group('indent')}{STUB_COMMENT}")
                    out.append(f"{skipping.group('indent')}...")
                skipping = None
            continue
        begin = BEGIN_SOLUTION.match(line)
        if begin:
            skipping = begin
            continue
        inline = INLINE_SOLUTION.match(line)
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


def public_suite(source: str) -> str:
    """The suite without its hidden tests (functions and classes marked hidden)."""
    tree = ast.parse(source)
    if hidden_module(tree):
        return f'{ALL_HIDDEN}\n'
    kept = [
        node for node in tree.body
        if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and any(is_hidden_mark(d) for d in node.decorator_list))
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
        from grader.files import atomic_write

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
        problems = check_suite(spec.suite.read_text("utf-8"), spec.suite)
        if problems:  # a misspelled @pytest.mark.hidden would ship a hidden check
            raise ReleaseError(f"{name}: the suite's marks are wrong, nothing was released:\n  " + "\n  ".join(problems))
        folder = course.assignments_dir / name
        files[folder / spec.student_notebook_name] = student_notebook(spec)
        files[folder / "tests" / spec.suite.name] = public_suite(spec.suite.read_text("utf-8"))
        for helper in sorted(spec.suite.parent.glob("*.py")):
            if helper != spec.suite and not helper.name.startswith(("test_", "make_", "hidden_")):
                files[folder / "tests" / helper.name] = helper.read_text("utf-8")
    return Release(files)
