"""``grader mutants NAME``: how many wrong solutions does an exercise's suite catch?

The instructor's tool for measuring a suite (docs/AUTHORING.md, "Measuring a suite"):

1. **Mutants.** Each graded cell of the master notebook is parsed with libcst and mutated
   one change at a time by the mutation operators of `mutmut <https://github.com/boxed/mutmut>`_
   (``mutmut.mutation.mutators.mutation_operators``: ``+`` to ``-``, ``<`` to ``<=``, a number
   plus one, an argument dropped or set to None, ``True`` to ``False``...); only the
   operators are used, not mutmut's test runner. ``--max N`` keeps a reproducible sample
   (``--seed``) of them. To these come the exercise's own catalogue of typical student
   mistakes, ``hidden_mutants.py`` next to the suite (never released: ``grader release``
   copies no ``hidden_*`` file): ``MISTAKES``, each a name, the graded name it replaces, the
   replacement source and the words a good message about it contains.
2. **Grading.** Each mutant is a copy of the master notebook with one cell changed, graded
   with the suite by the batch engine (:func:`grader.batch.batch.grade_batch`), together with
   the unchanged master, which must get full marks.
3. **Verdicts.** ``killed``: under full marks. ``survived``: full marks. ``equivalent``: full
   marks, and the graded names give the same results as the master's on the catalogue's
   random inputs (``inputs_<name>(rng)`` yields argument tuples; a returned Keras model is
   compared by its config with canonical layer names, i.e. as an architecture; a constant is compared as a
   value), run in a subprocess with a timeout (a mutant may loop). ``error``: the grader
   itself failed on it (a ``grader-error`` row). The score is killed / (all - equivalent).
4. **Messages.** A killed catalogue mistake is checked for a failing message containing its
   words (``named``: yes/no); a killed operator mutant has ``named`` yes when a failing
   message carries a ``Likely mistake:`` diagnosis (a check's ``mistakes=`` value equalled
   the mutant's output, so the message names what the mutant did).

The equivalence runs master code and mutants of it (instructor code, not student code)
outside the sandbox, in a plain subprocess with a timeout.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.batch.batch import grade_batch
from grader.batch.device import DeviceChoice
from grader.config import Assignment, ConfigError, Course
from grader.files import safe_name
from grader.model import GRADER_ERROR, SubmissionResult
from grader.source.extract import build_program, clean_source, defined_names, is_graded
from grader.source.notebook import Cell, read_submission

CATALOGUE = "hidden_mutants.py"  # next to the suite; hidden_*: never released to students
ORIGINAL = "original"  # the unchanged master, graded with the mutants as the baseline
LIKELY = "Likely mistake:"  # what grader.checks' mistakes= diagnoses start with
VERDICTS = ("killed", "survived", "equivalent", "error")


class MutantsError(ConfigError):
    """The exercise cannot be measured as configured; the message says why."""


@dataclass
class Mutant:
    id: str  # m007 (operator mutant number 7 of all, before sampling) or c_<name> (catalogue)
    operator: str  # mutmut's operator (swap_op, number, arg_removal...) or "catalogue"
    function: str  # the top-level name whose definition changed
    change: str  # one line: "L3: old -> new"
    cell: int  # index of the changed cell in the master notebook
    source: str  # the changed cell's whole source
    expect: tuple[str, ...] = ()  # catalogue: words a failing message should contain
    verdict: str = ""
    score: float = 0.0
    max_score: float = 0.0
    named: str = ""  # killed: yes / no (does a failing message name the mistake); else ""
    why: str = ""  # equivalence result, grader error, words missing

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("source")
        data["expect"] = list(self.expect)
        return data


@dataclass
class Report:
    assignment: str
    seed: int
    max: int | None
    available: int  # operator mutants before sampling
    mutants: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0
    library: str = ""

    def count(self, verdict: str) -> int:
        return sum(m.verdict == verdict for m in self.mutants)

    @property
    def score(self) -> float:
        """Killed / (all - equivalent), in percent (100 when nothing is left to kill)."""
        scored = len(self.mutants) - self.count("equivalent")
        return 100.0 * self.count("killed") / scored if scored else 100.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment, "seed": self.seed, "max": self.max, "library": self.library,
            "operator_mutants_available": self.available, "total": len(self.mutants),
            **{v: self.count(v) for v in VERDICTS}, "score_percent": round(self.score, 1),
            "seconds": round(self.seconds, 1), "mutants": [m.row() for m in self.mutants],
        }


# --------------------------------------------------------------------------- the catalogue


def catalogue_path(spec: Assignment) -> Path:
    return spec.suite.parent / CATALOGUE


def load_catalogue(path: Path) -> ModuleType | None:
    """The exercise's ``hidden_mutants.py`` as a module (instructor code), or None."""
    if not path.is_file():
        return None
    module_spec = importlib.util.spec_from_file_location(f"_grader_mutants_{safe_name(path.parent.name)}", path)
    if module_spec is None or module_spec.loader is None:
        raise MutantsError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def catalogue_mistakes(module: ModuleType | None, path: Path) -> list[dict[str, Any]]:
    """``MISTAKES`` of the catalogue, checked: each a dict with name, replaces, source, expect."""
    mistakes = list(getattr(module, "MISTAKES", []) or []) if module is not None else []
    seen = set()
    for i, entry in enumerate(mistakes):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("name", "replaces", "source")):
            raise MutantsError(f"{path}: MISTAKES[{i}] must be a dict with string 'name', 'replaces' and 'source' "
                               "(and 'expect': the words a good message contains)")
        expect = entry.get("expect", ())
        if isinstance(expect, str) or not all(isinstance(w, str) for w in expect):
            raise MutantsError(f"{path}: MISTAKES[{i}] ({entry['name']}): 'expect' must be a list of words")
        if entry["name"] in seen:
            raise MutantsError(f"{path}: two MISTAKES are named {entry['name']!r}")
        seen.add(entry["name"])
    return mistakes


# --------------------------------------------------------------------------- operator mutants


def _operators() -> list[tuple[type, Callable[[Any], Any]]]:
    # imported here: mutmut (libcst) is the optional extra [mutants], needed by this command only
    try:
        try:
            from mutmut.mutation.mutators import mutation_operators  # mutmut >= 3.5
        except ImportError:
            from mutmut.node_mutation import mutation_operators  # earlier 3.x
    except ImportError as exc:
        raise MutantsError("grader mutants needs mutmut: pip install 'tf-grader[mutants]' "
                           f"(or pip install 'mutmut>=3.8,<4'); {exc}") from None
    return list(mutation_operators)


def library_version() -> str:
    try:
        from importlib.metadata import version

        return f"mutmut {version('mutmut')}"
    except Exception:  # noqa: BLE001 - only a label in the report
        return "mutmut"


def _skipped(node: Any) -> bool:
    """Subtrees never mutated: annotations, decorators, imports (as mutmut skips the first two)."""
    import libcst as cst  # with mutmut (optional extra)

    return isinstance(node, (cst.Annotation, cst.Decorator, cst.Import, cst.ImportFrom))


def _walk(node: Any) -> Iterator[Any]:
    if _skipped(node):
        return
    yield node
    for child in node.children:
        yield from _walk(child)


def _top_name(stmt: Any, code: str) -> str:
    """The name a top-level libcst statement defines (its graded name), else its first line."""
    try:
        names = set().union(*(defined_names(s) for s in ast.parse(code).body))
    except SyntaxError:
        names = set()
    return ", ".join(sorted(names)) or code.strip().split("\n", 1)[0][:40]


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, stripped text) of the lines that hold code: not blank, not only a comment,
    not a one-line docstring (a catalogue mistake usually comes without the docstring)."""
    return [(i + 1, line.strip()) for i, line in enumerate(text.split("\n"))
            if line.strip() and not line.strip().startswith(("#", '"""', "'''", 'r"""'))]


def one_line_change(old: str, new: str) -> str:
    """``L3: return a + b -> return a - b``: the first changed code of a cell, on one line
    (comment-only lines, such as ``# BEGIN SOLUTION``, left out)."""
    a, b = _code_lines(old), _code_lines(new)
    texts_a, texts_b = [t for _, t in a], [t for _, t in b]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=texts_a, b=texts_b, autojunk=False).get_opcodes():
        if tag != "equal":
            line = a[i1][0] if i1 < len(a) else (a[-1][0] + 1 if a else 1)
            before = " / ".join(texts_a[i1:i2]) or "(nothing)"
            after = " / ".join(texts_b[j1:j2]) or "(nothing)"
            return f"L{line}: {before} -> {after}"
    return "(no change)"


def operator_mutants(cells: list[Cell]) -> list[Mutant]:
    """Every one-change mutant of the graded cells, in a fixed order (cell, then tree order)."""
    import libcst as cst  # with mutmut (optional extra)

    operators = _operators()
    found: list[Mutant] = []
    for cell in cells:
        if not is_graded(cell):
            continue
        source = clean_source(cell.source)
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError:
            continue
        seen = {source}
        for stmt in module.body:
            function = _top_name(stmt, module.code_for_node(stmt))
            for node in _walk(stmt):
                for kind, operator in operators:
                    if not isinstance(node, kind):
                        continue
                    for replacement in operator(node):
                        code = module.deep_replace(node, replacement).code
                        if code in seen:
                            continue
                        seen.add(code)
                        found.append(Mutant(
                            id=f"m{len(found) + 1:03d}", operator=operator.__name__.removeprefix("operator_"),
                            function=function, change=one_line_change(source, code), cell=cell.index, source=code,
                        ))
    return found


def sample(mutants: list[Mutant], most: int | None, seed: int) -> list[Mutant]:
    """At most ``most`` of them, chosen reproducibly by ``seed``, in their original order."""
    if most is None or most >= len(mutants):
        return list(mutants)
    keep = sorted(random.Random(seed).sample(range(len(mutants)), max(0, most)))
    return [mutants[i] for i in keep]


# --------------------------------------------------------------------------- catalogue mutants


def _definition_lines(cells: list[Cell], name: str) -> tuple[Cell, int, int] | None:
    """The cell and lines (1-based, inclusive, decorators included) of the last top-level
    definition of ``name``, graded cells first."""
    hits = []
    for graded in (True, False):
        for cell in cells:
            if cell.kind != "code" or is_graded(cell) != graded:
                continue
            try:
                tree = ast.parse(clean_source(cell.source))
            except SyntaxError:
                continue
            for stmt in tree.body:
                if name in defined_names(stmt) and not isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
                    hits.append((cell, first, stmt.end_lineno or stmt.lineno))
        if hits:
            return hits[-1]
    return None


def catalogue_mutants(cells: list[Cell], mistakes: list[dict[str, Any]], path: Path) -> list[Mutant]:
    found = []
    for entry in mistakes:
        where = _definition_lines(cells, entry["replaces"])
        if where is None:
            raise MutantsError(f"{path}: mistake {entry['name']!r} replaces {entry['replaces']!r}, which no cell "
                               "of the master notebook defines")
        cell, first, last = where
        lines = cell.source.split("\n")
        replacement = entry["source"].strip("\n").split("\n")
        code = "\n".join(lines[: first - 1] + replacement + lines[last:])
        found.append(Mutant(
            id=safe_name(f"c_{entry['name']}"), operator="catalogue", function=entry["replaces"],
            change=f"{entry['name']}: " + one_line_change(cell.source, code), cell=cell.index, source=code,
            expect=tuple(entry.get("expect", ())),
        ))
    return found


# --------------------------------------------------------------------------- submissions


def write_submissions(master: Path, mutants: list[Mutant], folder: Path) -> dict[str, Path]:
    """A copy of the master notebook per mutant (one cell changed), and the master itself."""
    if master.suffix != ".ipynb":
        raise MutantsError(f"{master}: grader mutants measures a master notebook (.ipynb)")
    raw = json.loads(master.read_text("utf-8"))
    shutil.rmtree(folder, ignore_errors=True)  # this command's own folder: no mutant of an earlier run stays
    folder.mkdir(parents=True)
    paths = {ORIGINAL: folder / f"{ORIGINAL}.ipynb"}
    shutil.copyfile(master, paths[ORIGINAL])
    for mutant in mutants:
        copy = json.loads(json.dumps(raw))
        copy["cells"][mutant.cell]["source"] = mutant.source
        copy["cells"][mutant.cell]["outputs"] = []
        path = folder / f"{mutant.id}.ipynb"
        path.write_text(json.dumps(copy, indent=1), "utf-8")
        paths[mutant.id] = path
    return paths


def failing_messages(result: SubmissionResult) -> list[str]:
    messages = [t.output for t in result.tests.values() if t.status == "failed" and t.score < t.max_score]
    return messages + ([result.message] if result.message else []) + list(result.problems)


def judge_message(mutant: Mutant, result: SubmissionResult) -> None:
    """``named``: does a failing message name the mistake (catalogue: all its words, any case;
    operator mutant: a ``Likely mistake:`` diagnosis)."""
    messages = failing_messages(result)
    if mutant.expect:
        lowered = [m.lower() for m in messages]
        if any(all(w.lower() in m for w in mutant.expect) for m in lowered):
            mutant.named = "yes"
        else:
            mutant.named = "no"
            mutant.why = "no failing message says " + " + ".join(repr(w) for w in mutant.expect)
    elif mutant.operator != "catalogue":
        mutant.named = "yes" if any(LIKELY in m for m in messages) else "no"


# --------------------------------------------------------------------------- equivalence

# run by a fresh interpreter: the master's units and a mutant's, the graded names compared on
# the catalogue's inputs; one JSON line out. Kept as text: the child imports nothing of grader.
_CHILD = r'''
import ast, contextlib, copy, importlib.util, io, json, sys
payload = json.loads(sys.stdin.read())
try:
    import numpy as np
except ImportError:
    np = None

def run(units):
    ns = {"__name__": "__grader_mutant__"}
    for unit in units:
        try:
            tree = ast.parse(unit["source"], unit["filename"])
        except SyntaxError:
            continue
        for stmt in tree.body:
            if unit["lines"] is not None and not any(a <= stmt.lineno <= b for a, b in unit["lines"]):
                continue
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    exec(compile(ast.Module([stmt], type_ignores=[]), unit["filename"], "exec"), ns)
            except BaseException:
                pass
    return ns

def keras_config(value):
    """A Keras model's architecture and compile settings, names canonical (None: not a model)."""
    if not (hasattr(value, "to_json") and hasattr(value, "get_config")):
        return None
    from grader.checks.models import canonical_names  # the grader's own canonical form
    try:
        config = canonical_names(json.loads(value.to_json()))
    except Exception:
        return None
    optimizer = (config.get("compile_config") or {}).get("optimizer")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):
        optimizer["config"].pop("name", None)  # "adam", "adam_1": Keras counts its optimizers
    return config

def same(a, b):
    model_a, model_b = keras_config(a), keras_config(b)
    if model_a is not None or model_b is not None:  # two builds of one architecture
        return model_a is not None and model_a == model_b
    if type(a) is not type(b):
        return False
    if np is not None and isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, float) or (np is not None and isinstance(a, np.floating)):
        return bool(a == b or (a != a and b != b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:
        return repr(a) == repr(b)

def outcome(f, args):
    args = copy.deepcopy(args)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            value = f(*args)
        return ("returned", value, args)
    except Exception as exc:
        return ("raised", type(exc).__name__, args)

catalogue = None
if payload["catalogue"]:
    spec = importlib.util.spec_from_file_location("_grader_mutants_catalogue", payload["catalogue"])
    catalogue = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(catalogue)
original, mutant = run(payload["original"]), run(payload["mutant"])
checked = 0
for name in payload["names"]:
    a, b = original.get(name, ...), mutant.get(name, ...)
    if callable(a) or callable(b):
        make = getattr(catalogue, "inputs_" + name, None)
        if make is None:
            print(json.dumps({"equivalent": False, "why": f"{name}: no inputs_{name}(rng) in the catalogue"}))
            sys.exit(0)
        if not (callable(a) and callable(b)):
            print(json.dumps({"equivalent": False, "why": f"{name}: callable in one, not the other"}))
            sys.exit(0)
        cases = list(make(np.random.default_rng(payload["seed"]) if np is not None else None))
        for args in cases:
            args = tuple(args)
            x, y = outcome(a, args), outcome(b, args)
            if x[0] != y[0] or not same(x[1], y[1]) or not same(x[2], y[2]):
                shown = " ".join(repr(args).split())
                print(json.dumps({"equivalent": False, "why": f"{name} differs on {shown[:100]}"}))
                sys.exit(0)
        checked += len(cases)
    elif not same(a, b):
        print(json.dumps({"equivalent": False, "why": " ".join(f"{name}: {a!r:.60} != {b!r:.60}".split())}))
        sys.exit(0)
print(json.dumps({"equivalent": True, "why": f"same results on {checked} random input(s)"}))
'''


def equivalent(master_units: list[dict], mutant_units: list[dict], names: list[str],
               catalogue: Path | None, seed: int, timeout: float) -> tuple[bool, str]:
    """Do the mutant's graded names give the master's results on the catalogue's inputs?"""
    payload = json.dumps({"original": master_units, "mutant": mutant_units, "names": names,
                          "catalogue": str(catalogue) if catalogue else None, "seed": seed})
    with tempfile.TemporaryDirectory(prefix="grader-mutant-") as cwd:
        try:
            done = subprocess.run([sys.executable, "-c", _CHILD], input=payload, capture_output=True, text=True,
                                  timeout=timeout, cwd=cwd, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        except subprocess.TimeoutExpired:
            return False, f"the comparison ran over {timeout:g} s (a loop?)"
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
        return bool(answer["equivalent"]), str(answer["why"])
    except (IndexError, ValueError, KeyError, TypeError):
        return False, "the comparison failed: " + (done.stderr.strip().splitlines() or ["no output"])[-1][:200]


# --------------------------------------------------------------------------- the command


def measure(course: Course, name: str, most: int | None = 50, seed: int = 0, jobs: int = 1,
            work: Path | None = None, device: DeviceChoice | None = None, limits: dict | None = None,
            equiv_timeout: float = 60.0, log: Callable[[str], None] = lambda s: None,
            resume: bool = False) -> Report:
    """Mutate ``name``'s master, grade every mutant with its suite, classify them.

    ``resume`` (with ``work``): keep the results an earlier, interrupted run of the same
    mutants left in ``work`` (as ``grader grade`` resumes); only for the same master,
    catalogue, ``most`` and ``seed``: a mutant is known by its id, not its source."""
    start = time.perf_counter()
    spec = course.assignment(name)
    master = read_submission(spec.notebook)
    cat_path = catalogue_path(spec)
    module = load_catalogue(cat_path)
    every = operator_mutants(master.cells)
    mutants = sample(every, most, seed) + catalogue_mutants(master.cells, catalogue_mistakes(module, cat_path), cat_path)
    report = Report(name, seed, most, len(every), mutants, library=library_version())
    log(f"{name}: {len(every)} operator mutant(s) of the graded cells, {len(mutants)} to grade "
        f"(with {sum(m.operator == 'catalogue' for m in mutants)} from {cat_path.name if module else 'no catalogue'})")
    keep = work is not None
    work = Path(work) if work else Path(tempfile.mkdtemp(prefix="grader-mutants-"))
    try:
        paths = write_submissions(spec.notebook, mutants, work / "mutants")
        results = grade_batch([work / "mutants"], course, work / "grading", name, device or DeviceChoice("cpu", 0),
                              jobs=jobs, force=not (resume and keep), limits=limits or {}, log=log)
        by_name = {r.submission: r for r in results}
        baseline = by_name.get(ORIGINAL)
        if baseline is None or baseline.max_score <= 0 or baseline.score < baseline.max_score:
            got = f"{baseline.score:g}/{baseline.max_score:g} ({baseline.status})" if baseline else "no result"
            raise MutantsError(f"{name}: the master notebook itself gets {got}, not full marks; "
                               f"run `grader validate {name}` first")
        master_units = build_program(master, spec.graded, spec.aliases).as_data()
        for mutant in mutants:
            result = by_name.get(mutant.id)
            if result is None:
                mutant.verdict, mutant.why = "error", "no result"
                continue
            mutant.score, mutant.max_score = result.score, result.max_score or baseline.max_score
            if result.status == GRADER_ERROR:
                mutant.verdict = "error"
                detail = (result.grader_errors or [result.message or "a grader error"])[0]
                mutant.why = " ".join(detail.strip().split("\n", 1)[0].split())[:200]
            elif result.score < baseline.max_score:
                mutant.verdict = "killed"
                judge_message(mutant, result)
            else:
                units = build_program(read_submission(paths[mutant.id]), spec.graded, spec.aliases).as_data()
                same, why = equivalent(master_units, units, list(spec.graded), cat_path if module else None,
                                       course.seed, equiv_timeout)
                mutant.verdict, mutant.why = ("equivalent" if same else "survived"), why
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    report.seconds = time.perf_counter() - start
    return report


def format_report(report: Report, width: int = 70) -> str:
    """The per-mutant table and the summary line, as printed by ``grader mutants``."""
    header = ["id", "operator", "function", "verdict", "score", "named", "change"]
    rows = [[m.id, m.operator, m.function, m.verdict, f"{m.score:g}/{m.max_score:g}", m.named or "-",
             m.change if len(m.change) <= width else m.change[: width - 3] + "..."] for m in report.mutants]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)] if rows else [len(h) for h in header]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*r) for r in rows]
    notes = [f"  {m.id}: {m.why}" for m in report.mutants if m.why and m.verdict in ("survived", "error", "killed")]
    if notes:
        lines += ["", "notes:", *notes]
    scored = len(report.mutants) - report.count("equivalent")
    catalogue = sum(m.operator == "catalogue" for m in report.mutants)
    operators = len(report.mutants) - catalogue
    lines += ["", f"{report.assignment}: {report.count('killed')} killed / {scored} non-equivalent mutant(s) = "
              f"{report.score:.1f}%  ({report.count('survived')} survived, {report.count('equivalent')} equivalent, "
              f"{report.count('error')} grader error(s); graded {operators} of {report.available} operator "
              f"mutant(s) ({report.library}, seed {report.seed}) and {catalogue} catalogue mistake(s) "
              f"in {report.seconds:.0f} s)"]
    return "\n".join(lines)
