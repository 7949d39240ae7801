"""``grader import-otter MASTER.ipynb``: an otter-grader assignment turned into an exercise here.

An otter-assign master notebook (format v1: a ``# ASSIGNMENT CONFIG`` raw cell; questions
between ``# BEGIN QUESTION`` / ``# END QUESTION`` raw cells whose YAML gives ``name``,
``points``, ``manual``; ``# BEGIN SOLUTION`` / ``# BEGIN PROMPT`` / ``# BEGIN TESTS`` blocks
inside them) becomes the three things of docs/AUTHORING.md:

* a master notebook ``solutions/<name>/<name>.ipynb``: the solution code cells of an
  autograded question become graded cells (tag ``graded``, first line ``# GRADED: <question>``)
  followed by a ``grader.check("<question>")`` cell tagged ``check``; the written answer of a
  manual question becomes an answer cell (``<!-- ANSWER: <question> -->``, tag ``answer``);
  otter's line markers (``# SOLUTION``, ``# SOLUTION NO PROMPT``, ``# SEED``, prompt strings) become the
  solution blocks ``grader release`` strips; test, config and prompt cells are dropped;
* a suite ``solutions/<name>/test_<name>.py``: one pytest test per otter test case, with its
  points as otter resolves them, ``@pytest.mark.hidden`` for hidden cases and
  ``@pytest.mark.target("<question>")``;
* an ``[assignments.<name>]`` entry (graded names, manual questions), printed or appended to
  autograder.toml.

Otter's own code reads the notebook: its block parser and notebook transformer validate
the structure (with otter's error messages), its tests manager reads the test cells (hidden
flags, ``# BEGIN TEST CONFIG``, doctest conversion, recorded outputs) and resolves the points.
otter-grader is imported only here, inside :func:`convert`; it is the ``[otter]`` extra.

A converted test runs as otter runs it: the test case's code in (a copy of) the student's
namespace, in the sandboxed worker (:func:`_otter_examples`), and its output compared on the
grader's side with the output the master notebook recorded, by doctest's own
``OutputChecker`` (:func:`run_otter_doctest`). Its strength is otter's: the student's code
computes what is compared. Rewrite important checks with ``submission.call`` and the
``expect*`` helpers for messages that say what was expected and the likely mistake.
"""

from __future__ import annotations

import ast
import copy
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.checks.expect import CheckFailed

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
QUESTION_RE = re.compile(r"^[\w.-]+$")  # what an answer cell's marker accepts (grader.reports.review)


class ImportOtterError(Exception):
    pass


# ---------------------------------------------------------------------- runtime (the suites call these)
def _otter_examples(ns: dict, sources: list) -> list:
    """In the worker: run doctest examples as doctest does, in a copy of the submission's namespace."""
    import io
    import sys
    import traceback

    env = dict(ns)
    results = []
    for source in sources:
        out = io.StringIO()
        saved = sys.stdout, sys.displayhook
        exception = None
        try:
            sys.stdout, sys.displayhook = out, sys.__displayhook__
            exec(compile(source, "<otter test>", "single"), env)  # noqa: S102 - the test, as otter runs it
        except BaseException as exc:  # noqa: BLE001 - a test case may expect an exception
            exception = "".join(traceback.format_exception_only(type(exc), exc))[-10_000:]
        finally:
            sys.stdout, sys.displayhook = saved
        results.append({"got": out.getvalue()[-10_000:], "exception": exception})
    return results


def _otter_function(ns: dict, source: str) -> dict:
    """In the worker: an exception-based otter test, called with the namespace's values by name."""
    import ast
    import inspect
    import io
    import sys
    import traceback

    env = dict(ns)
    out = io.StringIO()
    saved = sys.stdout
    try:
        sys.stdout = out
        tree = ast.parse(source)
        exec(compile(tree, "<otter test>", "exec"), env)  # noqa: S102 - the test, as otter runs it
        func = env[tree.body[0].name]
        params = inspect.signature(func).parameters
        func(**{p: (env if p == "env" else env.get(p)) for p in params})
    except BaseException as exc:  # noqa: BLE001 - a failed assertion is the failed test
        return {"exception": "".join(traceback.format_exception_only(type(exc), exc))[-10_000:],
                "stdout": out.getvalue()[-10_000:]}
    finally:
        sys.stdout = saved
    return {"exception": None, "stdout": out.getvalue()[-10_000:]}


def _indent(text: str, limit: int = 2000) -> str:
    text = text if len(text) <= limit else text[:limit] + " ..."
    return "\n".join("    " + line for line in text.rstrip("\n").split("\n")) if text.strip() else "    (nothing)"


def run_otter_doctest(submission: Any, text: str, failure_message: str | None = None,
                      success_message: str | None = None) -> None:
    """One OK-format otter test case: its examples run in the worker, judged here."""
    import doctest

    examples = doctest.DocTestParser().get_examples(text)
    results = submission.probe(_otter_examples, [e.source for e in examples])
    if not isinstance(results, list) or len(results) != len(examples):
        raise CheckFailed("The test could not run on your code (it returned no result per example).")
    checker = doctest.OutputChecker()
    for example, result in zip(examples, results, strict=True):
        got = result.get("got") if isinstance(result, dict) else None
        exception = result.get("exception") if isinstance(result, dict) else None
        if not isinstance(got, str) or not isinstance(exception, (str, type(None))):
            raise CheckFailed("The test could not run on your code (its result was not text).")
        flags = 0
        for flag, on in example.options.items():
            flags = flags | flag if on else flags & ~flag
        if exception is None:
            ok = example.exc_msg is None and checker.check_output(example.want, got, flags)
        else:
            ok = example.exc_msg is not None and checker.check_output(example.exc_msg, exception, flags)
        if not ok:
            lines = [failure_message, ""] if failure_message else []
            lines += ["Failed example:", _indent(example.source), "Expected:", _indent(example.want)]
            if exception is None:
                lines += ["Got:", _indent(got)]
            else:
                lines += ["Exception raised:", _indent(exception)]
            raise CheckFailed("\n".join(lines))


def run_otter_function(submission: Any, source: str, failure_message: str | None = None,
                       success_message: str | None = None) -> None:
    """One exception-based otter test case: the test function runs in the worker, judged here."""
    result = submission.probe(_otter_function, source)
    exception = result.get("exception") if isinstance(result, dict) else "no result"
    if exception is not None:
        lines = [failure_message, ""] if failure_message else []
        raise CheckFailed("\n".join([*lines, "The test failed:", _indent(str(exception))]))


# ---------------------------------------------------------------------- conversion (instructor side)
@dataclass
class Question:
    name: str
    manual: bool
    points: float
    prompt: list[str] = field(default_factory=list)  # markdown text of the question
    graded: list[str] = field(default_factory=list)  # names its solution code defines
    answer: list[str] = field(default_factory=list)  # markdown of a manual question's solution
    code_solution: bool = False
    check_cell: bool = True


@dataclass
class Conversion:
    name: str
    folder: Path
    notebook: Path
    suite: Path
    entry: str  # the [assignments.<name>] TOML
    questions: list[Question]
    tests: int
    hidden: int
    warnings: list[str]


def _cell_text(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _defined_names(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(names))


def our_markers(source: str) -> str:
    """Otter's line markers as the solution blocks of ``grader release``.

    ``x = 5  # SOLUTION`` stays (release writes ``x = ...``); any other line ending in
    ``# SOLUTION`` (otter: replaced by ``...``) becomes a one-line ``# BEGIN SOLUTION`` block;
    ``# SOLUTION NO PROMPT`` and ``# SEED`` lines (otter: removed from the student's copy)
    become ``# BEGIN SOLUTION NO PROMPT`` blocks, and so do the lines ending in
    ``# BEGIN PROMPT`` / ``# END PROMPT`` (a string's quotes), whose removal turns the string
    between them into the student's code as otter does. Lines are classified by otter's own regexes.
    """
    from otter.assign.solutions import begin_solution_regex, solution_line_regex

    from grader.source.markers import INLINE_SOLUTION as INLINE

    out: list[str] = []
    for line in source.split("\n"):
        stripped = line.rstrip()
        indent = line[: len(line) - len(line.lstrip())]
        body = stripped[: stripped.rfind("#")].rstrip() if "#" in stripped else stripped
        if begin_solution_regex.match(line) or stripped.endswith("# END SOLUTION"):
            out.append(line)
        elif stripped.endswith(("# BEGIN PROMPT", "# END PROMPT")):
            out += [f"{indent}# BEGIN SOLUTION NO PROMPT", line, f"{indent}# END SOLUTION"]
        elif stripped.endswith(("# SOLUTION NO PROMPT", "# SEED")):
            out += [f"{indent}# BEGIN SOLUTION NO PROMPT", body, f"{indent}# END SOLUTION"]
        elif solution_line_regex.match(line) and re.search(r"#\s*SOLUTION\s*$", stripped):
            if INLINE.match(line):
                out.append(line)
            else:
                out += [f"{indent}# BEGIN SOLUTION", body, f"{indent}# END SOLUTION"]
        else:
            out.append(line)
    return "\n".join(out)


def _py_string(text: str) -> str:
    """A readable Python literal for ``text`` (a raw triple-quoted string when that is exact)."""
    for quote in ('"""', "'''"):
        if quote not in text and not text.endswith(("\\", quote[0])) and "\r" not in text:
            return f"r{quote}{text}{quote}"
    return repr(text)


def _identifier(text: str) -> str:
    return re.sub(r"\W", "_", text).strip("_") or "q"


def _points(value: float) -> str:
    value = round(float(value), 6)
    return str(int(value)) if value == int(value) else repr(value)


def _test_function(question: str, index: int | str, body: str, ok_format: bool, points: float, hidden: bool,
                   failure: str | None, title: str | None = None) -> str:
    runner = "run_otter_doctest" if ok_format else "run_otter_function"
    decorators = ["@pytest.mark.hidden"] if hidden else []
    decorators += [f"@pytest.mark.points({_points(points)})", f"@pytest.mark.target({question!r})"]
    extra = f", failure_message={failure!r}" if failure else ""
    doc = (title or f"{question} - {index}").replace('"""', "'''").replace("\\", "/")
    return "\n".join([
        *decorators,
        f"def test_{_identifier(question)}_{index}(submission):",
        f'    """{doc}"""',
        f"    {runner}(submission, {_py_string(body)}{extra})",
    ])


def _tests_source(name: str, master: Path, questions: list[Question], cases: dict[str, dict], ok_format: bool
                  ) -> tuple[str, int, int]:
    """The pytest suite: one test per otter test case (all-or-nothing questions: one per question)."""
    runner = "run_otter_doctest" if ok_format else "run_otter_function"
    head = f'''"""Grading suite of {name}, converted from the otter-grader master {master.name} by `grader import-otter`.

Each test is one otter test case, run as otter runs it: its code in (a copy of) the student's
namespace, in the sandboxed worker; its output compared here with what the master notebook
recorded. Points are otter's, as it resolves them. Rewrite a check with `submission.call` and
the `expect*` helpers (docs/AUTHORING.md) to tell students what was expected and why.
"""

import pytest

from grader.course.otter_import import {runner}
'''
    blocks: list[str] = []
    count = hidden_count = 0
    for q in questions:
        info = cases.get(q.name)
        if not info:
            continue
        tcs = info["test_cases"]
        if info.get("all_or_nothing"):
            # one hidden test holds every case and all the points; the public cases are also
            # shipped as 0-point tests so students can run them
            for i, tc in enumerate(tcs, 1):
                if not tc.hidden:
                    blocks.append(_test_function(q.name, i, tc.body, ok_format, 0, False, tc.failure_message,
                                                 f"{q.name} - {i} (all or nothing: counted in {q.name} - all)"))
                    count += 1
            joined = "\n".join(tc.body for tc in tcs) if ok_format else None
            total = sum(tc.points or 0 for tc in tcs)
            if ok_format:
                blocks.append(_test_function(q.name, "all", joined, True, total, True, None, f"{q.name} - all"))
            else:
                body = "\n".join([
                    "@pytest.mark.hidden", f"@pytest.mark.points({_points(total)})", f"@pytest.mark.target({q.name!r})",
                    f"def test_{_identifier(q.name)}_all(submission):", f'    """{q.name} - all"""',
                    *[f"    run_otter_function(submission, {_py_string(tc.body)})" for tc in tcs]])
                blocks.append(body)
            count += 1
            hidden_count += 1
            continue
        for i, tc in enumerate(tcs, 1):
            blocks.append(_test_function(q.name, i, tc.body, ok_format, tc.points or 0, bool(tc.hidden),
                                         tc.failure_message))
            count += 1
            hidden_count += bool(tc.hidden)
    return head + "\n\n" + "\n\n\n".join(blocks) + "\n", count, hidden_count


def config_entry(name: str, title: str, notebook: str, suite: str, questions: list[Question]) -> str:
    from grader.course.bundle import dump_toml

    graded = [n for q in questions if not q.manual for n in q.graded]
    entry: dict[str, Any] = {"title": title, "notebook": notebook, "suite": suite,
                             "graded": list(dict.fromkeys(graded))}
    manual = [{"name": q.name, "points": int(q.points) if q.points == int(q.points) else q.points, "prompt": " ".join(" ".join(q.prompt).split())[:500]}
              for q in questions if q.manual]
    if manual:
        entry["manual"] = manual
    return dump_toml({"assignments": {name: entry}})


def convert(master: Path | str, course_dir: Path | str, name: str | None = None, force: bool = False) -> Conversion:
    """Convert the otter master notebook; write the master and suite under ``course_dir/solutions/<name>/``."""
    try:
        import nbformat
        from otter.assign.assignment import Assignment
        from otter.assign.blocks import (
            BlockType,
            extract_all_fenced_otter_cells,
            get_cell_config,
            is_assignment_config_cell,
            is_block_boundary_cell,
        )
        from otter.assign.notebook_transformer import NotebookTransformer
        from otter.assign.question_config import QuestionConfig
        from otter.assign.solutions import remove_ignored_lines
        from otter.assign.tests_manager import AssignmentTestsManager
        from otter.assign.utils import (
            AssignNotebookFormatException,
            get_notebook_language,
            is_ignore_cell,
        )
        from otter.test_files import TestFile
    except ImportError as exc:
        raise ImportOtterError(
            f"otter-grader is needed to read otter notebooks ({exc}); install it with "
            "pip install 'tf-grader[otter]' (or pip install otter-grader)") from None

    master = Path(master).resolve()
    course_dir = Path(course_dir).resolve()
    if not master.is_file():
        raise FileNotFoundError(f"no such notebook: {master}")
    with warnings.catch_warnings():  # an nbformat 4.4 notebook has no cell ids: not the author's problem
        warnings.simplefilter("ignore")
        nb = nbformat.read(str(master), as_version=4)

    # 1. otter's own reading: structure checked, assignment config applied, tests read
    assignment = Assignment()
    assignment.master = master
    # as otter's write_output_directories does (a notebook without a kernelspec: Python)
    assignment.lang = get_notebook_language(nb) if "kernelspec" in nb.metadata else "python"
    tests_mgr = AssignmentTestsManager(assignment)
    cwd = os.getcwd()
    try:
        os.chdir(master.parent)  # otter reads a config_file relative to the master
        NotebookTransformer(assignment, tests_mgr)._get_transformed_cells(copy.deepcopy(nb.cells))
    except AssignNotebookFormatException as exc:
        raise ImportOtterError(f"{master.name} is not a valid otter-assign master notebook: {exc}") from None
    except (ValueError, TypeError, AssertionError) as exc:
        raise ImportOtterError(f"{master.name}: otter could not read it: {exc}") from None
    finally:
        os.chdir(cwd)
    if not assignment.is_python:
        raise ImportOtterError(f"{master.name}: only Python notebooks can be imported (otter says {assignment.lang!r})")
    ok_format = bool(assignment.tests.ok_format)

    name = name or (assignment.name if isinstance(assignment.name, str) and assignment.name else None) or master.stem
    if not NAME_RE.match(name):
        raise ImportOtterError(f"{name!r} cannot name an exercise (letters, digits, _ and -); pass --name")
    notes: list[str] = []
    for key, what in (("files", "support files"), ("requirements", "requirements"), ("autograder_files", "autograder files")):
        if getattr(assignment, key, None):
            notes.append(f"the assignment config lists {what} ({key}); copy what the suite or students need by hand")

    # 2. the cells, walked with otter's block predicates
    questions: list[Question] = []
    cells: list[Any] = []
    question: Question | None = None
    blocks: list[Any] = []
    answer_at: int | None = None
    for cell in extract_all_fenced_otter_cells(copy.deepcopy(nb.cells)):
        if is_ignore_cell(cell) or is_assignment_config_cell(cell):
            continue
        if blocks and is_block_boundary_cell(cell, blocks[-1], end=True):
            ended = blocks.pop()
            if ended is BlockType.QUESTION and question is not None:
                if question.manual:
                    text = "\n\n".join(question.answer).strip() or "*(model answer)*"
                    answer = nbformat.v4.new_markdown_cell(f"<!-- ANSWER: {question.name} -->\n{text}",
                                                           metadata={"tags": ["answer"]})
                    cells.insert(answer_at if answer_at is not None else len(cells), answer)
                    if question.code_solution:
                        notes.append(f"{question.name}: a manual question answered in code; the grader "
                                        "collects only its markdown answer cell")
                elif question.check_cell and tests_mgr.has_tests(QuestionConfig({"name": question.name})):
                    cells.append(nbformat.v4.new_code_cell(f'grader.check("{question.name}")',
                                                           metadata={"tags": ["check"]}))
                question, answer_at = None, None
            continue
        begin = next((b for b in BlockType if is_block_boundary_cell(cell, b)), None)
        if begin is not None:
            if begin is BlockType.QUESTION:
                config = QuestionConfig(get_cell_config(cell))
                points = tests_mgr.determine_question_point_value(config)
                question = Question(config.name, bool(config.manual), float(points), check_cell=bool(config.check_cell))
                if not QUESTION_RE.match(question.name):
                    raise ImportOtterError(f"question name {question.name!r} cannot name a check here "
                                           "(letters, digits, _, . and -)")
                questions.append(question)
            blocks.append(begin)
            continue
        cell.source = "\n".join(remove_ignored_lines(_cell_text(cell).split("\n")))
        cell.get("metadata", {}).pop("otter", None)
        inner = blocks[-1] if blocks else None
        if inner is BlockType.TESTS or inner is BlockType.PROMPT:
            continue  # tests: read by otter above; prompts: release writes its own
        if inner is BlockType.SOLUTION and question is not None:
            if cell.cell_type == "code":
                source = our_markers(cell.source)
                if question.manual:
                    question.code_solution = True
                    cell.source = source
                else:
                    question.graded += [n for n in _defined_names(cell.source) if n not in question.graded]
                    cell.source = f"# GRADED: {question.name}\n{source}"
                    tags = [t for t in cell.metadata.get("tags", []) if t != "graded"]
                    cell.metadata["tags"] = [*tags, "graded"]
                    cell.outputs, cell.execution_count = [], None
            elif cell.cell_type == "markdown" and question.manual:
                question.answer.append(cell.source)
                answer_at = len(cells) if answer_at is None else answer_at
                continue
            elif cell.cell_type == "markdown":
                tags = cell.metadata.get("tags", [])
                if "otter_include" in tags:  # otter keeps it in the student's copy
                    cell.metadata["tags"] = [t for t in tags if t != "otter_include"]
                else:  # otter removes it from the student's copy; so does release
                    cell.metadata["tags"] = [*tags, "instructor"]
        elif question is not None and cell.cell_type == "markdown":  # the question's text
            question.prompt.append(cell.source)
        cells.append(cell)

    for q in questions:
        if not q.manual and not q.graded:
            notes.append(f"{q.name}: its solution defines no top-level name; its tests can only see names "
                            "defined in graded cells (the grader runs no other cell)")
        if q.manual and q.points <= 0:
            notes.append(f"{q.name}: a manual question without points; give it points in autograder.toml")

    # where the init cell goes: after the leading markdown (title, instructions)
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    cells.insert(first_code, nbformat.v4.new_code_cell("import grader"))

    # 3. tests as otter writes them (hidden flags, messages), their points resolved as otter
    # resolves them when it reads a test file
    cases: dict[str, dict] = {}
    for q in questions:
        if tests_mgr.has_tests(QuestionConfig({"name": q.name})):
            info = tests_mgr._create_test_file_info(q.name)  # what otter's write_tests writes per question
            info["test_cases"] = TestFile.resolve_test_file_points(info["points"], info["test_cases"])
            cases[q.name] = info

    folder = course_dir / "solutions" / name
    notebook_path = folder / f"{name}.ipynb"
    suite_path = folder / f"test_{name}.py"
    if not force and (notebook_path.exists() or suite_path.exists()):
        raise ImportOtterError(f"{folder} already holds {name}'s files; pass --force to overwrite them")
    for i, cell in enumerate(cells):  # nbformat 4.5: every cell has an id
        cell["id"] = f"{_identifier(name)}-{i}"
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    out_nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(nb.metadata))
    out_nb.metadata.pop("otter", None)
    out_nb.metadata["grader"] = {"assignment": name}
    out_nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nbformat.validate(out_nb)
    suite_text, count, hidden = _tests_source(name, master, questions, cases, ok_format)
    ast.parse(suite_text)  # a generated suite must at least be Python
    title = next((line.lstrip("#").strip() for c in out_nb.cells if c.cell_type == "markdown"
                  for line in c.source.split("\n") if line.startswith("# ")), name)
    rel = folder.relative_to(course_dir).as_posix()
    entry = config_entry(name, title, f"{rel}/{notebook_path.name}", f"{rel}/{suite_path.name}", questions)

    from grader.files import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(notebook_path, nbformat.writes(out_nb) + "\n")
    atomic_write(suite_path, suite_text)
    return Conversion(name, folder, notebook_path, suite_path, entry, questions, count, hidden, notes)


NEW_CONFIG = """# Course configuration read by `grader` (docs/AUTHORING.md); started by `grader import-otter`.
[course]
name = {name}
seed = 0
"""


def append_entry(course_dir: Path, conversion: Conversion) -> Path:
    """Append the entry to ``course_dir/autograder.toml`` (created when missing)."""
    import json

    from grader.config import CONFIG_NAME
    from grader.config import tomllib as _toml

    path = Path(course_dir) / CONFIG_NAME
    text = path.read_text("utf-8") if path.is_file() else NEW_CONFIG.format(name=json.dumps(Path(course_dir).resolve().name))
    if conversion.name in _toml.loads(text).get("assignments", {}):
        raise ImportOtterError(f"{path} already has [assignments.{conversion.name}]; edit it by hand "
                               "(the entry is printed above)")
    new = text.rstrip("\n") + "\n\n" + conversion.entry
    _toml.loads(new)  # still valid TOML
    from grader.files import atomic_write

    atomic_write(path, new)
    return path
