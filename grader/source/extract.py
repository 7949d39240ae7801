"""Choosing what to run of a submission: graded cells, imports, and nothing else.

The rules (docs/AUTHORING.md):

* a *graded* cell (tag ``graded`` or first line ``# GRADED: <label>``) runs whole;
* from every other code cell only the top-level ``import`` statements that bind a name
  the selected code uses run (``import matplotlib`` for a plot cell costs nothing);
* a graded name (``graded = [...]`` in autograder.toml) that no graded cell defines is
  looked up by name among all top-level definitions (the tag was lost, the cell copied,
  the notebook re-created, or the submission is a ``.py``): the last definition wins, as
  it would when running the notebook top to bottom;
* the top-level functions, classes and constants that the selected code uses come along
  (a helper defined in another cell), unless they call something that trains, evaluates,
  loads data or waits (:data:`EXPENSIVE`, by name): a 100-epoch ``fit`` in an exploration
  cell never runs and costs nothing. Expressions and bare calls outside graded cells never
  run at all.

The result is a :class:`Program`: source units with the line ranges to run, sent to the
worker as data. Parsing happens here, on the trusted side, with ``ast`` only.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from dataclasses import dataclass, field

from grader.source.markers import GRADED_TAG, graded_label
from grader.source.notebook import Cell, SubmissionFile

_MAGIC = re.compile(r"^(\s*)([%!].*)$")
_BUILTINS = frozenset(dir(builtins))


@dataclass
class Unit:
    """Code to run in the worker: ``lines`` None means the whole source."""

    label: str
    filename: str
    source: str
    lines: list[tuple[int, int]] | None = None
    kind: str = "graded"  # graded | import | lookup | dependency

    def as_data(self) -> dict:
        return {
            "label": self.label,
            "filename": self.filename,
            "source": self.source,
            "lines": [list(r) for r in self.lines] if self.lines is not None else None,
        }


@dataclass
class Program:
    units: list[Unit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # messages for the student
    found_by_name: list[str] = field(default_factory=list)  # graded names looked up (tag lost)
    defined: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)  # canonical graded name -> the alias found

    def as_data(self) -> list[dict]:
        return [u.as_data() for u in self.units]


def is_graded(cell: Cell) -> bool:
    return cell.kind == "code" and (GRADED_TAG in cell.tags or graded_label(cell.first_line) is not None)


def cell_label(cell: Cell) -> str:
    return graded_label(cell.first_line) or f"cell {cell.index + 1}"


def clean_source(source: str) -> str:
    """Blank out IPython magics and shell escapes (``%time``, ``!pip``), keeping line numbers."""
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        return "\n" * (len(lines) - 1)  # a cell magic: the whole cell is not Python
    return "\n".join("" if _MAGIC.match(line) else line for line in lines)


def defined_names(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    names = set()
    for target in targets:
        names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def used_names(stmt: ast.stmt) -> set[str]:
    """The names a top-level statement reads from the module's namespace: its free names.

    Scopes are followed (Python's own ``symtable``): a function's parameters and locals,
    a comprehension's or lambda's variables and a class body's own names are not module
    names, so ``def train(x_train): history = model.fit(x_train)`` needs neither
    ``x_train`` nor ``history`` from the notebook. A function's globals, its defaults,
    decorators and annotations evaluated at definition time, and a class body's unbound
    names are.
    """
    try:
        table = symtable.symtable(ast.unparse(stmt), "<statement>", "exec")
    except (SyntaxError, ValueError, RecursionError):  # e.g. top-level await: be generous
        return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        names |= {s.get_name() for s in scope.get_symbols() if s.is_referenced() and s.is_global()}
        stack.extend(scope.get_children())
    return names


# calls that train, evaluate, load data or wait: never run from a non-graded cell
EXPENSIVE = frozenset({
    "fit", "fit_generator", "evaluate", "predict", "train_on_batch", "load_data", "load_mnist",
    "load_fashion_mnist", "load_ascent", "sleep", "input", "show", "savefig", "system", "run", "Popen",
})


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _cheap(node: ast.AST, avoid: frozenset[str] = frozenset()) -> bool:
    """No call in ``node`` trains, evaluates, loads data or waits (by the called name), nor
    calls a name of ``avoid`` (the graded names: ``history = train_mnist(x, y)`` at the top
    of an exploration cell trains)."""
    expensive = EXPENSIVE | avoid
    return not any(isinstance(n, ast.Call) and _called_name(n) in expensive for n in ast.walk(node)) and not any(
        isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom)) for n in ast.walk(node))


def _definition(stmt: ast.stmt, avoid: frozenset[str] = frozenset()) -> bool:
    """Runnable from a non-graded cell: a def/class, or a cheap assignment.

    The body of a def is not run by defining it, so only decorators and bases count.
    """
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return all(_cheap(d, avoid) for d in stmt.decorator_list)
    if isinstance(stmt, ast.ClassDef):
        return all(_cheap(d, avoid) for d in [*stmt.decorator_list, *stmt.bases])
    return isinstance(stmt, (ast.Assign, ast.AnnAssign)) and _cheap(stmt, avoid)


@dataclass
class _Stmt:
    cell: Cell
    node: ast.stmt
    order: tuple[int, int]


def build_program(submission: SubmissionFile, graded_names: tuple[str, ...],
                  aliases: dict[str, tuple[str, ...]] | None = None) -> Program:
    """Select the units to run for ``submission``; never raises on bad student code.

    ``aliases``: other spellings of a graded name (``{"EarlyStoppingCallback":
    ("myCallback",)}``, a template's older era). A submission that defines an alias gets the
    canonical name bound to it after its cells ran, so the suite asks for the canonical one.
    """
    aliases = aliases or {}
    program = Program()
    parsed: dict[int, tuple[str, ast.Module | None]] = {}
    broken: dict[int, SyntaxError] = {}
    for cell in submission.cells:
        if cell.kind != "code":
            continue
        source = clean_source(cell.source)
        try:
            parsed[cell.index] = (source, ast.parse(source))
        except SyntaxError as exc:
            parsed[cell.index] = (source, None)
            broken[cell.index] = exc
            if is_graded(cell):
                program.problems.append(
                    f"The graded cell '{cell_label(cell)}' has a syntax error on line "
                    f"{exc.lineno}: {exc.msg}. Nothing in that cell could run."
                )

    graded_cells = [c for c in submission.cells if is_graded(c) and parsed.get(c.index, ("", None))[1]]
    defined: set[str] = set()
    for cell in graded_cells:
        for stmt in parsed[cell.index][1].body:  # type: ignore[union-attr]
            defined |= defined_names(stmt)

    # every top-level statement of a non-graded cell, in notebook order
    others: list[_Stmt] = []
    for cell in submission.cells:
        tree = parsed.get(cell.index, ("", None))[1]
        if tree is None or is_graded(cell):
            continue
        others.extend(_Stmt(cell, s, (cell.index, i)) for i, s in enumerate(tree.body))

    chosen: dict[tuple[int, int], _Stmt] = {}
    avoid = frozenset(n for name in graded_names for n in (name, *aliases.get(name, ())))

    def last_definition(name: str, avoid: frozenset[str] = avoid) -> _Stmt | None:
        hits = [s for s in others if name in defined_names(s.node) and _definition(s.node, avoid)]
        return hits[-1] if hits else None

    def last_import(name: str) -> _Stmt | None:
        hits = [s for s in others if isinstance(s.node, (ast.Import, ast.ImportFrom)) and name in defined_names(s.node)]
        return hits[-1] if hits else None

    for name in graded_names:
        spellings = (name, *aliases.get(name, ()))
        present = next((s for s in spellings if s in defined), None)
        if present is None:
            for spelling in spellings:
                hit = last_definition(spelling, frozenset())  # a graded constant may call a graded function
                if hit is not None:
                    chosen[hit.order] = hit
                    defined |= defined_names(hit.node)
                    program.found_by_name.append(spelling)
                    present = spelling
                    break
        if present is not None and present != name:
            program.renamed[name] = present

    # pull in helpers the selected code uses, transitively
    needed = set()
    for cell in graded_cells:
        for stmt in parsed[cell.index][1].body:  # type: ignore[union-attr]
            needed |= used_names(stmt)
    for st in chosen.values():
        needed |= used_names(st.node)
    seen: set[str] = set()
    while needed - seen:
        name = (needed - seen).pop()
        seen.add(name)
        if name in defined or (name in _BUILTINS and last_import(name) is None):
            continue
        hit = last_definition(name) or last_import(name)
        if hit is not None and hit.order not in chosen:
            chosen[hit.order] = hit
            defined |= defined_names(hit.node)
            needed |= used_names(hit.node)

    # units in notebook order: graded cells whole, other cells as line ranges
    by_cell: dict[int, list[_Stmt]] = {}
    for st in chosen.values():
        by_cell.setdefault(st.cell.index, []).append(st)
    for cell in submission.cells:
        if cell.index in by_cell:
            stmts = sorted(by_cell[cell.index], key=lambda s: s.order)
            kinds = {"import" if isinstance(s.node, (ast.Import, ast.ImportFrom)) else "lookup" for s in stmts}
            program.units.append(Unit(
                label=f"cell {cell.index + 1}",
                filename=f"<cell {cell.index + 1}>",
                source=parsed[cell.index][0],
                lines=[(s.node.lineno, s.node.end_lineno or s.node.lineno) for s in stmts],
                kind="lookup" if "lookup" in kinds else "import",
            ))
        elif is_graded(cell) and parsed.get(cell.index, ("", None))[1] is not None:
            program.units.append(Unit(
                label=f"graded cell '{cell_label(cell)}'",
                filename=f"<cell {cell.index + 1}>",
                source=parsed[cell.index][0],
            ))
    if program.renamed:  # after every cell: the canonical names the suite asks for
        program.units.append(Unit(
            label="the graded names of this assignment",
            filename="<grader: names>",
            source="".join(f"if {alias!r} in globals():\n    {name} = {alias}\n"
                           for name, alias in program.renamed.items()),
            kind="alias",
        ))
        defined |= set(program.renamed)
    program.defined = defined
    missing = [n for n in graded_names if n not in defined]
    for name in missing:
        where = next((w for w in (_unparsable_definition(submission, broken, n) for n in (name, *aliases.get(name, ())))
                      if w is not None), None)
        if where is not None:  # e.g. a .py file (one cell) with a syntax error
            program.problems.append(f"`{name}` could not be read: {where}. Nothing in that cell could run.")
            continue
        message = missing_name_message(name, anywhere=True)
        if aliases.get(name):
            message += " (Also accepted: " + ", ".join(f"`{a}`" for a in aliases[name]) + ".)"
        program.problems.append(message)
    return program


def missing_name_message(name: str, anywhere: bool = False, kernel: bool = False) -> str:
    """What a student reads when a graded name is not defined.

    ``anywhere``: the whole submission was searched (the problem line; a check's own
    message says "in your submission"). ``kernel``: the code is what a Jupyter kernel ran
    (``grader.check``), where the usual cause is a cell not run yet; in a saved file it is
    a renamed or deleted definition.
    """
    if kernel:
        return (f"`{name}` is not defined in the code this kernel ran: run the cell that defines `{name}` "
                "first, then check again. If you did run it, did you rename it, or delete its cell?")
    if anywhere:
        return f"`{name}` is not defined anywhere in your submission: did you rename it, or delete its cell?"
    return f"`{name}` is not defined in your submission: did you rename it or delete its cell?"


def _unparsable_definition(submission: SubmissionFile, broken: dict[int, SyntaxError], name: str) -> str | None:
    """Where ``name`` is defined in a cell that is not valid Python (graded or not), if it is."""
    pattern = re.compile(rf"^(?:def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*[:=]", re.MULTILINE)
    for cell in submission.cells:
        exc = broken.get(cell.index)
        if exc is not None and pattern.search(clean_source(cell.source)):
            single_py = getattr(submission.path, "suffix", "") == ".py" and len(submission.cells) == 1
            place = "your file" if single_py else f"cell {cell.index + 1}"
            return f"{place} has a syntax error on line {exc.lineno}: {exc.msg}"
    return None
