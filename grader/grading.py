"""Grading one submission: read it, choose its code, start its worker, run the suite.

This runs on the trusted side (the process that computes scores); the student's code is
only ever in the worker that :class:`grader.sandbox.Sandbox` starts. ``grade_file`` is
the single entry point used by ``grader grade`` (in a fresh process per submission),
``grader check``, ``grader validate`` and the test-suite.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .config import Assignment, ConfigError, Course, Limits, load_course
from .extract import build_program
from .manual import collect_answers
from .notebook import SubmissionFile, SubmissionUnreadable, read_submission
from .plugin import GRADER_ERROR_MESSAGE, GradingPlugin, TestOutcome
from .sandbox import Isolation, Sandbox, WorkerLost
from .submission import Submission, clean_output

STATUSES = ("ok", "error", "timeout", "memory", "grader-error")
# a row the grader itself failed on (its suite's code raised, a dataset is missing): not the
# student's verdict, regraded when the batch is resumed, and `grader grade` exits 3
GRADER_ERROR = "grader-error"


def grader_error_message(checks: list[str] | None = None) -> str:
    """The row's message for a student when the grader failed on it: no exception, no path."""
    which = f" ({', '.join(checks)})" if checks else ""
    return (f"The grader could not run {'every check' if not checks else 'some checks'} of this submission{which}; "
            "this is not your mistake and your instructor has been told. This score is not final.")


@dataclass
class TestResult:
    name: str
    title: str
    score: float
    max_score: float
    status: str  # passed | failed | grader-error
    output: str
    hidden: bool
    target: str | None
    seconds: float = 0.0
    detail: str = ""  # grader-error: the exception and where, for the instructor only


@dataclass
class SubmissionResult:
    submission: str  # the submission's name (file stem)
    path: str
    assignment: str | None
    status: str  # ok | error | timeout | memory | grader-error
    message: str  # why the status is not ok, for instructor and student
    score: float
    max_score: float
    tests: dict[str, TestResult] = field(default_factory=dict)
    device: str = "cpu"
    execution_time: float = 0.0
    problems: list[str] = field(default_factory=list)
    load_errors: list[dict] = field(default_factory=list)
    manual: list[dict] = field(default_factory=list)  # {name, points, prompt, answer}
    sandbox: dict = field(default_factory=dict)
    worker_output: str = ""
    feedback: list[dict] = field(default_factory=list)  # pictures/tables for feedback.html
    attempts: int = 1  # times it was started: a cluster retries one whose Dask worker died
    grader_errors: list[str] = field(default_factory=list)  # grader-error: the details, instructor only

    @property
    def pending_points(self) -> float:
        return sum(float(q["points"]) for q in self.manual)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tests"] = [asdict(t) for t in self.tests.values()]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        data = dict(data)
        data["tests"] = {t["name"]: TestResult(**t) for t in data.get("tests", [])}
        return cls(**data)


def infer_assignment(sub: SubmissionFile | None, path: Path, course: Course) -> str | None:
    """Metadata written by ``grader release`` first, then an assignment name in the file name."""
    if sub is not None and sub.assignment in course.assignments:
        return sub.assignment
    stem = path.name.lower()
    hits = [name for name in course.assignments if name.lower() in stem]
    if len(hits) == 1:
        return hits[0]
    return None


def default_hidden_paths(course: Course, extra: tuple[str, ...] = ()) -> list[str]:
    """Folders the worker must not see: the course, data, caches and whatever the caller adds."""
    from . import cache, datasets

    paths = [str(course.root)]
    repo = _enclosing_repository(course.root)
    if repo is not None:  # its .git holds every suite and solution ever committed
        paths.append(str(repo))
    paths += [str(p) for _label, p in datasets.data_dirs()]
    paths += [str(Path.home())]  # the grader user's home: caches, keys, the Keras cache
    paths += cache.hidden_paths()  # the trusted side's measurements (grader.cache), wherever they are
    paths += list(extra)
    return [p for p in dict.fromkeys(os.path.realpath(p) for p in paths) if os.path.isdir(p)]


def course_data(course: Course, spec: Assignment) -> list[tuple[str, str]]:
    """``[assignments.X] data``: each declared file as (absolute path, path in the worker's
    folder). Looked up in ``$GRADER_DATA_DIR``, then ``[course] data_dir``; the file must be a
    regular file inside that folder (no symlink out of it). A missing file is the course's
    problem, not the student's: ConfigError."""
    if not spec.data:
        return []
    roots = [Path(p) for p in (os.environ.get("GRADER_DATA_DIR"), course.data_dir) if p]
    files = []
    for target, source in spec.data:
        found = None
        for root in roots:
            real_root = os.path.realpath(root)
            candidate = os.path.realpath(os.path.join(real_root, source))
            if candidate.startswith(real_root + os.sep) and os.path.isfile(candidate):
                found = candidate
                break
        if found is None:
            looked = ", ".join(str(r) for r in roots) or "no data folder: set GRADER_DATA_DIR or [course] data_dir"
            raise ConfigError(f"[assignments.{spec.name}] data: {source!r} (for {target!r}) is not a file in "
                              f"the data folder ({looked})")
        files.append((found, target))
    return files


def _load_reply_ok(value: Any) -> bool:
    """The worker's answer to ``load`` has the shape the trusted side relies on."""
    if not isinstance(value, dict):
        return False
    errors, names = value.get("errors", []), value.get("names", [])
    return (isinstance(errors, list) and all(isinstance(e, dict) and all(isinstance(v, str) for v in e.values()) for e in errors)
            and isinstance(names, list) and all(isinstance(n, str) for n in names))


def _enclosing_repository(root: Path) -> Path | None:
    """The top of the git work tree holding ``root`` when ``root`` is a subfolder of it.

    A course kept in a folder of a larger repository (here: tests/course) would otherwise
    leave the repository's ``.git`` and its other folders (solutions/) readable by the
    worker. The worker still sees the Python install and the grader package inside it:
    the sandbox re-exposes those (``_keep_paths``).
    """
    for folder in Path(root).resolve().parents:
        if folder == Path(folder.anchor):
            return None
        if (folder / ".git").exists():
            return folder
    return None


def grade_file(
    path: Path | str,
    assignment: str | None = None,
    course: Course | None = None,
    device: str = "cpu",
    public_only: bool = False,
    targets: tuple[str, ...] = (),
    limits: dict[str, Any] | None = None,
    slot: int = 0,
    cores: list[int] | None = None,
    gpu_index: int | None = None,
    hide: tuple[str, ...] = (),
    isolate: bool = True,
) -> SubmissionResult:
    """Grade one file against its assignment's suite; never raises for bad student code."""
    start = time.perf_counter()
    path = Path(path).resolve()
    course = course or load_course()
    sub: SubmissionFile | None = None
    unreadable = None
    try:
        sub = read_submission(path)
    except SubmissionUnreadable as exc:
        unreadable = str(exc)
    name = assignment or infer_assignment(sub, path, course)
    if name is None:
        return _unassigned(path, course, unreadable, start)
    spec: Assignment = course.assignment(name)
    lim: Limits = spec.limits.merged(limits or {})
    program = build_program(sub, spec.graded, spec.aliases) if sub is not None else None
    isolation = Isolation(
        hide=default_hidden_paths(course, tuple(hide) + (str(path.parent),)),
        isolate=isolate, slot=slot, cores=cores, device=device, gpu_index=gpu_index, seed=course.seed,
        data=course_data(course, spec),
    )
    holder: dict[str, Any] = {}

    def make_submission() -> Submission:
        if unreadable is not None or program is None:
            return Submission(None, unreadable=unreadable or "unreadable")
        box = Sandbox(lim, isolation)
        holder["sandbox"] = box
        try:
            box.start()
            loaded = box.request({"op": "load", "units": program.as_data()})
        except WorkerLost as exc:
            holder["lost"] = exc
            return Submission(None, program.problems, unreadable=f"your code {exc} while its cells were run")
        value = loaded.get("value") or {}
        if not _load_reply_ok(value):  # e.g. a frame the student's code forged on the reply pipe
            box.kill(("error", "broke the grading protocol (a malformed answer)"))
            holder["lost"] = WorkerLost(*box.reason)  # type: ignore[misc]
            return Submission(None, program.problems, unreadable=f"your code {holder['lost']} while its cells were run")
        made = Submission(box, list(program.problems), list(value.get("errors", [])), names=list(value.get("names", [])))
        holder["submission"] = made
        return made

    suite = spec.suite
    if not suite.is_file():  # a student's copy of the course: only the public checks exist
        from .release import public_suite_path

        suite, public_only = public_suite_path(course, spec), True
    plugin = GradingPlugin(make_submission, course.profile(spec, device), course.seed, public_only, targets)
    args = [str(suite), "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--no-header",
            "-W", "ignore::DeprecationWarning", "-p", "no:unraisableexception", f"--rootdir={suite.parent}"]
    quiet = open(os.devnull, "w")  # noqa: SIM115 - pytest's terminal output is not the result
    try:
        from contextlib import redirect_stdout
        with redirect_stdout(quiet):
            exit_code = pytest.main(args, plugins=[plugin])
    finally:
        quiet.close()
        box = holder.get("sandbox")
        if box is not None:
            box.close()
    if plugin.collect_errors or exit_code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        raise RuntimeError(f"the grading suite {suite} could not run: {' '.join(plugin.collect_errors)[:3000]}")
    result = _result(path, spec, sub, program, plugin.outcomes, holder, unreadable, device, start)
    result.feedback = plugin.feedback_items
    return result


def _result(path: Path, spec: Assignment, sub: SubmissionFile | None, program: Any,
            outcomes: dict[str, TestOutcome], holder: dict[str, Any], unreadable: str | None,
            device: str, start: float) -> SubmissionResult:
    tests = {}
    for o in outcomes.values():
        tests[o.name] = TestResult(
            name=o.name, title=o.title, score=o.points if o.passed else 0.0, max_score=o.points,
            status="passed" if o.passed else (GRADER_ERROR if o.grader_error else "failed"),
            output=GRADER_ERROR_MESSAGE if o.grader_error else o.message, hidden=o.hidden,
            target=o.target, seconds=round(o.seconds, 3), detail=o.grader_error or "",
        )
    box: Sandbox | None = holder.get("sandbox")
    status, message = "ok", ""
    if unreadable:
        status, message = "error", unreadable
    lost = holder.get("lost")
    reason = box.reason if box is not None else None
    if reason is None and lost is not None:
        reason = (lost.status, str(lost))
    if reason is None:
        crashed = [o for o in outcomes.values() if o.crashed]
        if crashed:
            reason = (crashed[0].crashed or "error", crashed[0].message)
    made = holder.get("submission")
    if reason is None and made is not None and made.memory_errors:
        reason = ("memory", "ran out of memory (MemoryError) under the memory limit")
    if reason is not None:
        kind, text = reason
        status = kind if kind in STATUSES else "error"
        message = text if text.startswith(("Not graded", "your code")) else f"your code {text}"
    failed = [o for o in outcomes.values() if o.grader_error and not o.passed]
    grader_errors = [f"{o.name}: {o.grader_error}" for o in failed]
    if failed:  # the grader's fault outranks any verdict: the row is regraded on resume
        status = GRADER_ERROR
        message = grader_error_message([o.title for o in failed if not o.hidden]) + (f" {message}" if message else "")
    problems = list(program.problems) if program is not None else []
    if sub is not None:
        problems = list(sub.warnings) + problems
    if sub is not None and sub.assignment and sub.assignment != spec.name:
        problems.insert(0, f"this notebook was handed out for {sub.assignment!r}, but it was graded as {spec.name!r}: "
                           "was the wrong notebook submitted?")
    if program is not None and program.found_by_name and path.suffix == ".ipynb":
        problems.append("found by name (their cell had lost its `graded` tag): " + ", ".join(program.found_by_name))
    load_errors = made.load_errors if made is not None else []
    return SubmissionResult(
        submission=_safe_name(path.stem),
        path=str(path),
        assignment=spec.name,
        status=status,
        message=message,
        score=sum(t.score for t in tests.values()),
        max_score=sum(t.max_score for t in tests.values()),
        tests=tests,
        device=device,
        execution_time=round(time.perf_counter() - start, 3),
        problems=problems,
        load_errors=load_errors,
        manual=collect_answers(sub, spec.manual) if sub is not None else
        [{"name": q.name, "points": q.points, "prompt": q.prompt, "answer": ""} for q in spec.manual],
        sandbox=box.report if box is not None else {},
        worker_output=clean_output(box.output) if box is not None else "",
        grader_errors=grader_errors,
    )


def _unassigned(path: Path, course: Course, unreadable: str | None, start: float) -> SubmissionResult:
    known = ", ".join(sorted(course.assignments))
    message = unreadable or (
        f"cannot tell which assignment {path.name} is for: its notebook metadata names none and its "
        f"file name contains none of: {known}. Pass --assignment NAME."
    )
    return SubmissionResult(_safe_name(path.stem), str(path), None, "error", message, 0.0, 0.0,
                            execution_time=round(time.perf_counter() - start, 3))


def _safe_name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "submission"
