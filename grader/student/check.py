"""``grader.check("<target>")`` in a student's notebook: the public checks of one graded name.

Where the code comes from
    In a Jupyter kernel, the code checked is **what the kernel ran**: IPython's input
    history (``history_manager.input_hist_raw``, the same cells as ``In``), in execution
    order, the latest run of each ``# GRADED: <label>`` cell replacing the earlier ones
    (so editing and re-running a cell, then checking, checks the edit). The notebook file
    on disk is *not* used for code: Jupyter saves it every couple of minutes, so it lags
    behind the kernel and a check would judge code the student already changed. It is
    used, when it can be found, for its metadata (which assignment the notebook is for):
    ``__session__`` in the kernel's namespace (set by ipykernel from ``JPY_SESSION_NAME``,
    which Jupyter Server >= 2 sets to the notebook's path) or VS Code's
    ``__vsc_ipynb_file__``. ``grader.check("x", notebook="my.ipynb")`` checks a saved file
    instead. Outside IPython (``python my_solution.py``), the running script is checked.

How it runs
    The cells are written to a temporary notebook and graded by
    :func:`grader.engine.grading.grade_file` with ``public_only=True`` in a separate Python
    process (pytest and the suite never load into the student's kernel). Hidden checks
    are deselected before anything runs, so they are never run and never shown; the
    student's code runs in the usual sandboxed worker. That process is a fresh runner
    forked per check by the kernel's **warm check process** (:class:`grader.batch.slot.WarmParent`,
    started at the first check, TensorFlow imported once, dead with the kernel), so the
    second check does not import TensorFlow again. Trusted-side training is cached in a
    folder of the user's (:func:`grader.engine.cache.user_dir`; ``grader.check(..., cache=False)``
    measures afresh).

Executing a whole notebook (``nbconvert --execute``, a benchmark) with env
``GRADER_SKIP_CHECKS=1`` turns every check cell into a no-op.

What it shows
    A compact table (check, points, result, message of failing checks) as HTML in
    Jupyter, as text elsewhere; above it, what the score counts (the public checks only,
    and what is graded after submission: :func:`grader.reports.results.public_checks_line`, the
    line ``grader check`` prints too) and problems found in the code (a graded name
    missing, an error raised while running a cell). A graded name missing from the
    kernel's code is reported as a cell not run yet (:func:`as_kernel_messages`).
    Backtick code spans in headings, titles and problems become ``<code>`` in HTML.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from grader.source.assignment import assignment_in_name, declared_assignment
from grader.source.markers import graded_label

_NOT_DEFINED = re.compile(r"^`(?P<name>[^`]+)` is not defined (?:anywhere|in the code this kernel ran)")
_CODE = re.compile(r"`([^`\n]+)`")


class CheckError(Exception):
    """The check could not start (no course found, unknown assignment); str() says why."""


# ---------------------------------------------------------------------- the report
@dataclass
class CheckReport:
    """What ``grader.check`` returns: the public checks of one target (or all)."""

    target: str | None
    assignment: str | None
    result: Any  # grader.engine.grading.SubmissionResult
    seconds: float
    source: str  # where the code came from, e.g. "kernel history (12 cells)"
    problems: list[str] = field(default_factory=list)
    hidden_checks: int | None = None  # of the whole assignment; None: unknown
    warm_pid: int | None = None  # the kernel's warm check process that ran it (reused by later checks)
    _shown_at: Any = None

    @property
    def score(self) -> float:
        return float(self.result.score)

    @property
    def max_score(self) -> float:
        return float(self.result.max_score)

    @property
    def passed(self) -> bool:
        tests = list(self.result.tests.values())
        return bool(tests) and self.result.status == "ok" and all(t.status == "passed" for t in tests)

    @property
    def failing(self) -> list[str]:
        return [t.title for t in self.result.tests.values() if t.status != "passed"]

    def _heading(self) -> str:
        what = f"`{self.target}`" if self.target else f"all of {self.assignment}"
        tests = list(self.result.tests.values())
        if not tests:
            return f"{what}: no public check to run"
        verdict = "all passed" if self.passed else f"{len(self.failing)} of {len(tests)} failing"
        return f"{what}: {verdict}"

    def scope(self) -> str:
        """What the score counts: public checks only, and what is graded after submission."""
        from grader.reports.results import public_checks_line

        return public_checks_line(self.score, self.max_score, self.hidden_checks, bool(self.result.manual))

    def text(self) -> str:
        lines = [self._heading() + f"  ({self.seconds:.1f} s)", f"  {self.scope()}"]
        from grader.reports.results import check_lines

        lines += [f"  ! {p}" for p in self.problems]
        for t in self.result.tests.values():
            lines += check_lines(t, "PASS" if t.status == "passed" else "FAIL", "", True)
        if not self.result.tests and self.result.assignment:
            lines.append(f"  (assignment {self.result.assignment} has no public check whose target is {self.target!r})")
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        e = escape
        out = ['<div class="grader-check" style="font-family:system-ui,sans-serif;font-size:13px">',
               f"<p style='margin:4px 0'><b>{_inline_html(self._heading())}</b> "
               f"<span style='color:#666'>({self.seconds:.1f} s)</span></p>",
               f"<p style='margin:2px 0;color:#444'>{e(self.scope())}</p>"]
        for p in self.problems:
            out.append(f"<p style='margin:2px 0;background:#fff8c5;padding:2px 6px'>&#9888; {_inline_html(p)}</p>")
        if self.result.tests:
            out.append("<table style='border-collapse:collapse'><thead><tr>"
                       + "".join(f"<th style='text-align:left;padding:2px 8px;border-bottom:1px solid #ccc'>{h}</th>"
                                 for h in ("check", "points", "result", "message"))
                       + "</tr></thead><tbody>")
            for t in self.result.tests.values():
                ok = t.status == "passed"
                color = "#1a7f37" if ok else "#cf222e"
                message = "" if ok else f"<pre style='margin:0;white-space:pre-wrap'>{e(t.output)}</pre>"
                out.append(
                    f"<tr class='{'passed' if ok else 'failed'}'><td style='padding:2px 8px'>{_inline_html(t.title)}</td>"
                    f"<td style='padding:2px 8px'>{t.score:g}/{t.max_score:g}</td>"
                    f"<td style='padding:2px 8px;color:{color};font-weight:600'>{'passed' if ok else 'failed'}</td>"
                    f"<td style='padding:2px 8px;text-align:left'>{message}</td></tr>")
            out.append("</tbody></table>")
        out.append("</div>")
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"<CheckReport {self._heading()}>"

    def _ipython_display_(self) -> None:
        ip = _ipython()
        if ip is not None and self._shown_at == getattr(ip, "execution_count", None):
            return  # check() already showed this table in the same cell
        _show(self)


def _inline_html(text: str) -> str:
    """Escaped HTML with Markdown code spans (`name`) as <code>, not literal backticks."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text))


def _ipython() -> Any:
    """The running IPython shell, without importing IPython when it is not loaded."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:  # noqa: BLE001
        return None


def _show(report: CheckReport) -> None:
    ip = _ipython()
    if ip is not None and type(ip).__name__ != "TerminalInteractiveShell":
        from IPython.display import display

        display({"text/html": report.html(), "text/plain": report.text()}, raw=True)
        report._shown_at = getattr(ip, "execution_count", None)
    else:
        print(report.text(), end="")
        if ip is not None:
            report._shown_at = getattr(ip, "execution_count", None)


# ---------------------------------------------------------------------- finding the code
def history_cells(entries: list[str]) -> list[str]:
    """Kernel history -> cells: latest run of each ``# GRADED: label`` cell, repeats dropped."""
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for position, source in enumerate(entries):
        if not isinstance(source, str) or not source.strip():
            continue
        first = source.lstrip().split("\n", 1)[0].strip()
        label = (graded_label(first) or "").lower()
        key = ("graded", label) if label else ("cell", source)
        latest[key] = (position, source)
    return [source for _, source in sorted(latest.values())]


def kernel_history(ip: Any) -> list[str]:
    manager = getattr(ip, "history_manager", None)
    raw = list(getattr(manager, "input_hist_raw", None) or [])
    if not raw:
        raw = list(ip.user_ns.get("In", []) or [])
    return raw[1:] if raw and not raw[0].strip() else raw


def kernel_notebook_path(ip: Any) -> Path | None:
    """The notebook file of this kernel, when Jupyter or VS Code says which it is."""
    ns = getattr(ip, "user_ns", {}) or {}
    candidates = [ns.get("__vsc_ipynb_file__"), ns.get("__session__"), os.environ.get("JPY_SESSION_NAME")]
    for raw in candidates:
        if not isinstance(raw, str) or not raw.endswith(".ipynb"):
            continue
        path = Path(raw).expanduser()
        for candidate in (path, Path.cwd() / path, Path.cwd() / path.name):
            if candidate.is_file():
                return candidate.resolve()
    return None


def write_cells_notebook(cells: list[str], path: Path, assignment: str | None) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb_cells = []
    for i, source in enumerate(cells):
        graded = graded_label(source.lstrip().split("\n", 1)[0].strip()) is not None
        cell = new_code_cell(source, metadata={"tags": ["graded"]} if graded else {})
        cell["id"] = f"history-{i}"
        nb_cells.append(cell)
    meta: dict[str, Any] = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    if assignment:
        meta["grader"] = {"assignment": assignment}
    nbformat.write(new_notebook(cells=nb_cells, metadata=meta), str(path))


def _notebook_assignment(path: Path | None) -> str | None:
    """The assignment the saved notebook's metadata names (:mod:`grader.source.assignment`)."""
    if path is None:
        return None
    try:
        # nbformat, only when a saved file is read: importing grader stays light
        from grader.source.notebook import read_submission

        return declared_assignment(read_submission(path))
    except Exception:  # noqa: BLE001 - an unreadable file just tells us nothing
        return None


_LAST_ASSIGNMENT: dict[str, str] = {}  # course root -> the assignment the last check in this kernel used


def _defined_in(cells: list[str]) -> set[str]:
    import ast

    names: set[str] = set()
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def choose_assignment(course: Any, target: str | None, given: str | None, from_file: str | None,
                      file_name: str | None, cells: list[str] | None = None) -> str:
    """Explicit name, notebook metadata, file name, the graded names, then the last check's."""
    if given:
        course.assignment(given)  # raises ConfigError with the known names
        return given
    if from_file and from_file in course.assignments:
        return from_file
    last = _LAST_ASSIGNMENT.get(str(course.root))
    if last in course.assignments and (not target or target in course.assignments[last].graded):
        return last
    named = assignment_in_name(file_name, course.assignments) if file_name else None
    if named is not None:
        return named
    if target:
        hits = [n for n, a in course.assignments.items() if target in a.graded]
        if len(hits) == 1:
            return hits[0]
    if len(course.assignments) == 1:
        return next(iter(course.assignments))
    if cells:
        defined = _defined_in(cells)
        overlap = {n: len(defined & set(a.graded)) for n, a in course.assignments.items()}
        best = max(overlap.values(), default=0)
        hits = [n for n, k in overlap.items() if k == best]
        if best and len(hits) == 1:
            return hits[0]
    known = ", ".join(sorted(course.assignments)) or "none"
    call = f"grader.check({target!r}, assignment='NAME')" if target else "grader.check_all(assignment='NAME')"
    raise CheckError(f"cannot tell which assignment this notebook is for (known: {known}); call {call}")


# ---------------------------------------------------------------------- running
# The warm check process of this kernel, per (course config, preload): started at the first
# check, it has imported TensorFlow and the engine once and forks a fresh runner per check
# (grader.batch.slot, as a batch slot does). It dies with the kernel: PR_SET_PDEATHSIG, armed in
# it first thing, fires when the thread that started it ends, so it is started from a
# thread of ours that lives as long as the kernel; and its stdin (the request pipe) reaches
# end-of-file when the kernel is gone, which ends it too.
_WARM: dict[tuple[str, tuple[str, ...]], Any] = {}
_KEEPER: Any = None
_WARM_LOCK = threading.Lock()


def _keeper() -> Any:
    global _KEEPER
    if _KEEPER is None:
        from concurrent.futures import ThreadPoolExecutor

        _KEEPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-check-warm")
    return _KEEPER


def _warm_parent(config: Path) -> Any:
    from grader.batch.slot import WarmParent
    from grader.config import read_preload

    preload = tuple(read_preload(config))
    key = (str(config), preload)
    parent = _WARM.get(key)
    if parent is None:
        logs = Path(tempfile.mkdtemp(prefix="grader-check-logs-"))
        atexit.register(shutil.rmtree, logs, True)
        parent = _WARM[key] = WarmParent(0, None, list(preload), logs, entry="grader.student.check:_child_main")
    return parent


def warm_pid(config: str | Path | None = None) -> int | None:
    """The pid of this kernel's warm check process (for ``config``, or the only one), if running."""
    for (path, _), parent in _WARM.items():
        if (config is None or str(Path(config).resolve()) == path) and parent.proc is not None \
                and parent.proc.poll() is None:
            return int(parent.proc.pid)
    return None


def stop_warm() -> None:
    """End this kernel's warm check processes (they also end with the kernel)."""
    for parent in list(_WARM.values()):
        parent.close()
    _WARM.clear()


def _run_child(path: Path, assignment: str, config: Path, targets: tuple[str, ...], timeout: float,
               kernel: bool = False, use_cache: bool = True) -> dict:
    from grader.engine import cache

    with tempfile.TemporaryDirectory(prefix="grader-check-out-") as tmp:
        out = Path(tmp) / "result.json"
        folder = cache.active_dir() if os.environ.get("GRADER_CACHE_DIR") else cache.user_dir()
        request = {"path": str(path), "assignment": assignment, "config": str(config),
                   "targets": list(targets), "out": str(out), "kernel": kernel,
                   "cache_dir": str(folder) if use_cache and cache.enabled_by_env() and folder else None}
        with _WARM_LOCK:
            parent = _warm_parent(config)
            try:
                code, tail = _keeper().submit(parent.run, request, timeout).result()
            except BaseException:  # interrupted (KeyboardInterrupt): its runner and worker die with it
                parent._stop()
                raise
        if code is None:
            raise CheckError(f"the checks took longer than {timeout:g} s and were stopped")
        if code != 0 or not out.is_file():
            raise CheckError(f"the checks could not run (exit {code}): {tail}")
        return json.loads(out.read_text("utf-8"))


def run_checks(target: str | None = None, assignment: str | None = None, notebook: str | Path | None = None,
               config: str | Path | None = None, show: bool = True, cache: bool = True) -> CheckReport | None:
    """Implementation of :func:`grader.check` and :func:`grader.check_all`.

    With ``show`` (the default), problems that stop the check (no course found, unknown
    assignment) are shown as one line and None is returned; without, they raise.
    ``cache=False`` measures afresh (no cached trusted-side training, :mod:`grader.engine.cache`).
    """
    if os.environ.get("GRADER_IN_WORKER") == "1":
        return None  # a check call inside graded code does nothing
    if os.environ.get("GRADER_SKIP_CHECKS", "").strip().lower() in ("1", "true", "yes", "on"):
        return None  # executing whole notebooks (benchmarks, nbconvert --execute): skip the checks
    try:
        return _run_checks(target, assignment, notebook, config, show, cache)
    except Exception as exc:
        from grader.config import ConfigError

        if not show or not isinstance(exc, (CheckError, ConfigError, subprocess.TimeoutExpired)):
            raise
        _show_error(f"grader.check could not run: {exc}")  # a message, not a traceback
        return None


def _show_error(message: str) -> None:
    ip = _ipython()
    if ip is not None and type(ip).__name__ != "TerminalInteractiveShell":
        from IPython.display import HTML, display

        display(HTML(f"<p style='color:#cf222e;font-family:system-ui,sans-serif'>{escape(message)}</p>"))
    else:
        print(message, file=sys.stderr)


def _run_checks(target: str | None, assignment: str | None, notebook: str | Path | None,
                config: str | Path | None, show: bool, use_cache: bool = True) -> CheckReport:
    from grader.config import find_config, load_course
    from grader.model import SubmissionResult

    start = time.perf_counter()
    ip = _ipython()
    tmpdir: str | None = None
    file_for_meta: Path | None = None
    cells: list[str] | None = None
    try:
        if notebook is not None:
            path = Path(notebook).expanduser().resolve()
            if not path.is_file():
                raise CheckError(f"no such notebook: {path}")
            file_for_meta, source = path, f"the saved file {path.name}"
        elif ip is not None and hasattr(ip, "history_manager"):
            cells = history_cells(kernel_history(ip))
            file_for_meta = kernel_notebook_path(ip)
            tmpdir = tempfile.mkdtemp(prefix="grader-check-")
            path = Path(tmpdir) / (file_for_meta.name if file_for_meta else "notebook.ipynb")
            source = f"the code this kernel ran ({len(cells)} cells)"
        else:
            main_file = getattr(sys.modules.get("__main__"), "__file__", None)
            if not main_file or not str(main_file).endswith((".py", ".ipynb")):
                raise CheckError("run grader.check in a Jupyter notebook, or pass notebook='file.ipynb'")
            path = Path(main_file).resolve()
            file_for_meta, source = path, f"the running script {path.name}"
        start_dir = file_for_meta.parent if file_for_meta else Path.cwd()
        config_path = Path(config).resolve() if config else find_config(start_dir) or find_config()
        if config_path is None:
            raise CheckError("no autograder.toml found above this notebook's folder; open the notebook "
                             "from the course folder or set GRADER_CONFIG=/path/to/autograder.toml")
        course = load_course(config_path)
        name = choose_assignment(course, target, assignment, _notebook_assignment(file_for_meta),
                                 file_for_meta.name if file_for_meta else None, cells)
        _LAST_ASSIGNMENT[str(course.root)] = name
        if tmpdir is not None:
            write_cells_notebook(cells, path, name)
        targets = (target,) if target else ()
        timeout = course.assignment(name).limits.timeout + 300.0
        data = _run_child(path, name, config_path, targets, timeout, kernel=tmpdir is not None,
                          use_cache=use_cache)
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    from grader.engine.marks import hidden_check_count

    result = SubmissionResult.from_dict(data)
    problems = _relevant_problems(result, targets)
    report = CheckReport(target, name, result, time.perf_counter() - start, source, problems,
                         hidden_check_count(course, course.assignment(name)), warm_pid=warm_pid(config_path))
    if show:
        _show(report)
    return report


def _relevant_problems(result: Any, targets: tuple[str, ...]) -> list[str]:
    from grader.reports.html import load_error_text

    problems = []
    if result.status != "ok" and result.message:
        problems.append(result.message)
    for p in result.problems:
        missing = _NOT_DEFINED.match(p)
        if missing and targets and missing.group("name") not in targets:
            continue  # another exercise's name, not written yet: not this check's business
        if p.startswith("found by name"):
            continue
        problems.append(p)
    problems += [load_error_text(e) for e in result.load_errors]
    return problems


def as_kernel_messages(result: Any, graded: tuple[str, ...]) -> None:
    """Missing-name messages for code a kernel ran: the usual cause is a cell not run yet.

    Only for names the kernel's cells do not define at all (the "not defined anywhere"
    problem); a name whose cell ran but failed in the grader keeps its error message.
    """
    from grader.source.extract import missing_name_message

    for name in graded:
        line = missing_name_message(name, anywhere=True)
        if line not in result.problems:
            continue
        result.problems = [missing_name_message(name, kernel=True) if p == line else p for p in result.problems]
        check_message = missing_name_message(name)
        for t in result.tests.values():
            if t.output.startswith(check_message):
                t.output = missing_name_message(name, kernel=True) + t.output[len(check_message):]


def _child_main(request: dict) -> int:
    """One check: in a runner forked by the kernel's warm check process (or, ``python -m
    grader.student.check REQUEST``, in a process of its own)."""
    from grader.batch import slot as warm
    from grader.config import load_course, read_preload
    from grader.engine import prefork
    from grader.engine.grading import grade_file

    # as a batch's warm parent and runner do: TensorFlow is imported once (a no-op in a
    # forked runner), and the worker is forked before the course is read
    warm.preload(list(read_preload(request["config"])))
    with prefork.worker_template():
        if request.get("cache_dir"):  # the trusted side's cache of this check process (grader.engine.cache)
            os.environ["GRADER_CACHE_DIR"] = str(request["cache_dir"])
            os.environ.pop("GRADER_NO_CACHE", None)
        elif "cache_dir" in request:
            os.environ["GRADER_NO_CACHE"] = "1"
        course = load_course(request["config"])
        result = grade_file(request["path"], assignment=request["assignment"], course=course, device="cpu",
                            public_only=True, targets=tuple(request["targets"]))
    for t in result.tests.values():  # belt and braces: public_only deselected them already
        if t.hidden:
            raise RuntimeError("a hidden check ran in grader.check")
    if request.get("kernel"):
        as_kernel_messages(result, course.assignment(request["assignment"]).graded)
    data = result.to_dict()
    data["feedback"] = []  # pictures are for feedback.html, not for the notebook table
    data["worker_output"] = ""
    Path(request["out"]).write_text(json.dumps(data, default=str), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(json.loads(sys.argv[1])))
