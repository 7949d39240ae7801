"""Grading one submission: read it, choose its code, start its worker, run the suite.

This runs on the trusted side (the process that computes scores); the student's code is
only ever in the worker that :class:`grader.engine.sandbox.Sandbox` starts. ``grade_file`` is
the single entry point used by ``grader grade`` (in a fresh process per submission),
``grader check``, ``grader validate`` and the test-suite.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from grader.config import Assignment, ConfigError, Course, Limits, load_course
from grader.engine.plugin import (
    GRADER_ERROR_MESSAGE,
    GradingPlugin,
    TestOutcome,
    trusted_check_budget,
)
from grader.engine.sandbox import Isolation, Sandbox, WorkerLost
from grader.engine.submission import Submission, clean_output, load_reply_ok
from grader.files import safe_name
from grader.model import GRADER_ERROR, STATUSES, SubmissionResult, TestResult, grader_error_message
from grader.source.answers import collect_answers
from grader.source.assignment import infer_assignment
from grader.source.extract import build_program
from grader.source.notebook import SubmissionFile, SubmissionUnreadable, read_submission


def default_hidden_paths(course: Course, extra: tuple[str, ...] = ()) -> list[str]:
    """Folders the worker must not see: the course, data, caches and whatever the caller adds."""
    from grader import datasets
    from grader.engine import cache

    paths = [str(course.root)]
    repo = _enclosing_repository(course.root)
    if repo is not None:  # its .git holds every suite and solution ever committed
        paths.append(str(repo))
    # the checkout the grader itself runs from (an editable install), when it is not the
    # course's: a normal user's worker could otherwise read its solutions and .git (the
    # package and a venv inside it are re-exposed read-only: Sandbox's keep paths)
    engine = _enclosing_repository(Path(__file__).resolve().parents[1])
    if engine is not None:
        paths.append(str(engine))
    paths += [str(p) for _label, p in datasets.data_dirs()]
    paths += [str(Path.home())]  # the grader user's home: caches, keys, the Keras cache
    paths += cache.hidden_paths()  # the trusted side's measurements (grader.engine.cache), wherever they are
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


def check_budget(limits: Limits) -> float | None:
    """Seconds of worker time one check may use: ``check_timeout`` (default: a quarter of
    ``timeout``, so that a function that loops in two checks still leaves half of the time
    for the others; 0: no limit per check), never more than ``timeout``."""
    if limits.check_timeout is None:
        return limits.timeout / 4
    if limits.check_timeout <= 0:
        return None
    return min(limits.check_timeout, limits.timeout)


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
        units = program.as_data()
        try:
            box.start()
            load_started = time.monotonic()
            loaded = box.request({"op": "load", "units": units})
            load_seconds = time.monotonic() - load_started
        except WorkerLost as exc:
            holder["lost"] = exc
            return Submission(None, program.problems, unreadable=f"your code {exc} while its cells were run")
        value = loaded.get("value") or {}
        if not load_reply_ok(value):  # e.g. a frame the student's code forged on the reply pipe
            box.kill(("error", "broke the grading protocol (a malformed answer)"))
            holder["lost"] = WorkerLost(*box.reason)  # type: ignore[misc]
            return Submission(None, program.problems, unreadable=f"your code {holder['lost']} while its cells were run")
        made = Submission(box, list(program.problems), list(value.get("errors", [])), names=list(value.get("names", [])),
                          limits=lim, units=units, load_seconds=load_seconds)
        holder["submission"] = made
        return made

    suite = spec.suite
    if not suite.is_file():  # a student's copy of the course: only the public checks exist
        from grader.config import public_suite_path

        suite, public_only = public_suite_path(course, spec), True
    plugin = GradingPlugin(make_submission, course.profile(spec, device), course.seed, public_only, targets,
                           check_budget(lim), trusted_check_budget(lim))
    args = [str(suite), "-q", "--strict-markers", "-p", "no:cacheprovider", "-p", "no:randomly", "--no-header",
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
    made: Submission | None = holder.get("submission")
    # a worker lost in a check that paid for it (made.cut) is not the row's reason
    reason = made.stopped if made is not None else (box.reason if box is not None else None)
    if reason is None and lost is not None:
        reason = (lost.status, str(lost))
    if reason is None:
        crashed = [o for o in outcomes.values() if o.crashed]
        if crashed:
            reason = (crashed[0].crashed or "error", crashed[0].message)
    cut = made.cut if made is not None else []
    if reason is None:  # a limit or a crash keeps its status; a check's own time budget does not
        reason = next(((c["status"], c["message"]) for c in cut if not c["budget"]), None)
    if reason is None and made is not None and made.memory_errors:
        reason = ("memory", "ran out of memory (MemoryError) under the memory limit")
    if reason is not None:
        kind, text = reason
        status = kind if kind in STATUSES else "error"
        message = text if text.startswith(("Not graded", "your code")) else f"your code {text}"
    if cut:
        message = (f"{message}. " if message else "") + _cut_message(cut, outcomes)
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
        submission=safe_name(path.stem),
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
        sandbox=_sandbox_report(box, cut),
        worker_output=clean_output(box.output) if box is not None else "",
        grader_errors=grader_errors,
    )


def _cut_message(cut: list[dict], outcomes: dict[str, TestOutcome]) -> str:
    """The row's words for the checks whose worker was lost (hidden ones counted, not named)."""
    shown, hidden = [], 0
    for entry in cut:
        outcome = outcomes.get(entry["check"])
        if outcome is None or outcome.hidden:
            hidden += 1
        else:
            shown.append(f"{outcome.title} (your code {entry['message']})")
    named = shown + ([f"{hidden} hidden check{'s' if hidden > 1 else ''}"] if hidden else [])
    return (f"Checks stopped before they ended: {'; '.join(named)}. The other checks ran on a fresh start "
            "of your code.")


def _sandbox_report(box: Sandbox | None, cut: list[dict]) -> dict:
    """How the worker was confined; with ``workers`` and ``cut`` (check names) when more than
    one worker served this submission."""
    if box is None:
        return {}
    report = dict(box.report)
    if box.workers > 1:
        report["workers"] = box.workers
    if cut:
        report["cut"] = [c["check"] for c in cut]
    return report


def _unassigned(path: Path, course: Course, unreadable: str | None, start: float) -> SubmissionResult:
    known = ", ".join(sorted(course.assignments))
    message = unreadable or (
        f"cannot tell which assignment {path.name} is for: its notebook metadata names none and its "
        f"file name contains none of: {known}. Pass --assignment NAME."
    )
    return SubmissionResult(safe_name(path.stem), str(path), None, "error", message, 0.0, 0.0,
                            execution_time=round(time.perf_counter() - start, 3))
