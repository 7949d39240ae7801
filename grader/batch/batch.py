"""Grading many submissions: one row each, whatever happens, and resumable.

Each submission is graded in a *fresh trusted process*: a runner forked by its slot's warm
parent (:mod:`grader.batch.slot`), which imported TensorFlow once for the whole batch. A crash
of TensorFlow or of the grader itself on one submission costs that submission's row its
score, never the batch. That process writes the submission's files atomically
(:mod:`grader.reports.results`) into ``OUT/submissions/<name>/``, ``results.json`` last; the
batch then rewrites ``OUT/grades.csv``. The submissions' folders are kept apart from the
batch's own files (``grades.csv``, ``manual/``): a file named ``grades.csv.py`` is just a
submission. Re-running on the same output folder skips every submission whose
``results.json`` exists (``--force`` regrades), except rows whose status is ``grader-error``
(the grader, not the student, failed on them) or that were graded as another assignment:
those are graded again. A folder of the previous, flat layout (``OUT/<name>/``) is moved
into ``OUT/submissions/`` and resumed. When the runner dies without writing a result, the
batch writes an ``error`` row itself.

A batch grades one assignment (:func:`grader.source.assignment.batch_assignment`):
``--assignment``, else the one all the files name (metadata or file name), chosen once
before anything is graded; a notebook whose metadata names another assignment gets an
``error`` row and is graded against no suite.

Before anything is graded, :func:`check_data` looks up the data the assignments' suites
need (the ``load_*`` datasets they call, the ``data`` files their entries declare): a
missing dataset stops the batch with the lookup's message, before any student is graded.

Where the submissions are graded is a :class:`Backend`: :class:`LocalSlots` (``--jobs``
warm parents on this machine) or :class:`grader.batch.cluster.ClusterBackend` (``--cluster``:
Dask workers, each grading with :func:`_run_one` as a local slot does); planning,
resuming, the rows, ``grades.csv`` and the review files are this module's either way.
"""

from __future__ import annotations

import os
import queue
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from grader.batch.device import DeviceChoice, split_cores
from grader.batch.jobs import (
    SUBMISSIONS,
    Backend,
    Job,
    Outcome,
    error_result,
    run_one,
    submission_dir,
)
from grader.batch.slot import WarmParent
from grader.config import Course
from grader.files import atomic_write, safe_name
from grader.model import GRADER_ERROR, SubmissionResult, grader_error_message
from grader.reports.gradebook import gradebook_csv
from grader.reports.leaderboard import write_leaderboard
from grader.reports.protections import missing
from grader.reports.results import load_full, write_submission
from grader.reports.review import REVIEW_DIR, write_review
from grader.source.assignment import (
    batch_assignment,
    declared_assignment,
    infer_assignment,
    released_for_another,
)
from grader.source.notebook import SubmissionFile, SubmissionUnreadable, read_submission

# --assignment each: every file graded against the assignment it names itself (metadata, else
# its file name). Only for a folder the instructor made (the README's example batch): in
# students' submissions of one assignment a file must never choose its own suite.
EACH = "each"
EACH_UNKNOWN = ("cannot tell which assignment this file is for (no notebook metadata, no assignment name in "
                "its file name): not graded; grade it with --assignment NAME")
SUFFIXES = (".ipynb", ".py")
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git"}


def discover(paths: Iterable[Path | str], exclude: Iterable[Path] = ()) -> list[Path]:
    """Submission files among ``paths``: files as given, folders searched recursively."""
    excluded = {Path(p).resolve() for p in exclude}
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.suffix in SUFFIXES and file.is_file() and not (set(file.parts) & SKIP_DIRS):
                    if not any(ex == file.resolve() or ex in file.resolve().parents for ex in excluded):
                        found.append(file)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def plan(files: list[Path]) -> list[Job]:
    """Give each submission a unique, file-system-safe folder name."""
    jobs, used = [], set()
    for file in files:
        name = safe_name(file.stem)
        if name in used:
            name = safe_name(f"{file.parent.name}_{file.stem}")
        base, n = name, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        jobs.append(Job(file, name))
    return jobs


GRADES_CSV = "grades.csv"
# the batch's own names at the top of OUT: never taken for a submission's folder of the flat layout
BATCH_NAMES = {GRADES_CSV, REVIEW_DIR, SUBMISSIONS}


def grade_batch(
    paths: list[Path],
    course: Course,
    out: Path,
    assignment: str | None,
    device: DeviceChoice,
    jobs: int = 1,
    force: bool = False,
    limits: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] = lambda s: None,
    cluster: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[SubmissionResult]:
    """Grade every submission under ``paths`` into ``out``; one row each, whatever happens.

    ``assignment``: the batch's one assignment; None infers it once from the files (all must
    agree, else :class:`grader.source.assignment.AssignmentUnclear`, a ConfigError);
    :data:`EACH` grades every file against the assignment it names itself, one group after
    another (an error row for a file that names none): for an instructor's own mixed folder.
    ``progress(done, total)`` is called once the work is planned (submissions already
    graded count as done) and after each submission; ``log`` gets one line per submission.
    ``cluster``: the address of a Dask scheduler (or ``local:N``) to grade on instead of
    ``jobs`` local slots (:mod:`grader.batch.cluster`); planning, resuming, the rows, grades.csv
    and the review files are the same either way.
    ``warn`` gets :func:`unprotected_warning`'s line once per batch, after the first result
    whose worker ran without a protection (default: printed to stderr, even when ``log``
    is silent: the instructor must learn it).
    """
    if warn is None:
        def warn(line: str) -> None:
            print(line, file=sys.stderr, flush=True)
    warned = False
    work = plan(discover(paths, exclude=[out]))
    limits = limits or {}
    declared: dict[str, str | None] = {}  # each file's metadata assignment, once read (kept small)
    results: dict[str, SubmissionResult] = {}
    groups: dict[str, list[Job]] = {}
    if assignment == EACH:  # the instructor's own mixed folder: each file's own assignment
        for job in work:
            sub = _read(job.path)
            declared[job.name] = declared_assignment(sub)
            own = infer_assignment(sub, job.path, course)
            if own is None:
                result = error_result(job, None, "error", EACH_UNKNOWN, device.name)
                write_submission(result, submission_dir(out, job.name))
                results[job.name] = result
                log(f"{job.name}: {EACH_UNKNOWN}")
            else:
                groups.setdefault(own, []).append(job)
        log("assignments: " + ", ".join(f"{name} ({len(jobs)} file(s))" for name, jobs in sorted(groups.items())))
    else:
        if assignment is None and work:  # once, for the whole batch: no file chooses its own suite
            inferred = []
            for job in work:
                sub = _read(job.path)
                declared[job.name] = declared_assignment(sub)
                inferred.append((job.path, infer_assignment(sub, job.path, course)))
            assignment = batch_assignment(inferred, course)
            log(f"assignment {assignment}: named by all {len(work)} file(s)")
        groups = {assignment: work} if assignment is not None else {}
    total = len(work)
    for group_assignment, group in sorted(groups.items()):
        warned = _grade_group(group, group_assignment, results, declared, total, course, out, device, jobs,
                              force, limits, progress, log, cluster, warn, warned, paths)
    atomic_write(out / GRADES_CSV, gradebook_csv(list(results.values())))
    # OUT/leaderboard.csv + .html when the suite records leaderboard entries (feedback.leaderboard)
    write_leaderboard(list(results.values()), out, f"Leaderboard: {', '.join(sorted(groups)) or '?'}")
    write_review(list(results.values()), out)  # <out>/manual/<question>.md + points.csv for the instructor
    return [results[j.name] for j in work]


def _grade_group(group: list[Job], assignment: str, results: dict[str, SubmissionResult],
                 declared: dict[str, str | None], total: int, course: Course, out: Path, device: DeviceChoice,
                 jobs: int, force: bool, limits: dict, progress: Callable[[int, int], None] | None,
                 log: Callable[[str], None], cluster: str | None, warn: Callable[[str], None], warned: bool,
                 paths: list[Path]) -> bool:
    """Grade ``group``, the batch's files of one assignment, into ``results``; True once the
    batch's one-time warning has been given."""
    todo = []
    for job in group:
        done = None if force else _resume(out, job, log)
        if done is not None and done.status == GRADER_ERROR:
            log(f"{job.name}: the grader failed on it last time, graded again")
            done = None
        if done is not None and done.assignment != assignment:
            log(f"{job.name}: graded as {done.assignment} last time, this batch grades {assignment}: graded again")
            done = None
        if done is not None:
            results[job.name] = done
            log(f"{job.name}: already graded, skipped (use --force to regrade)")
        else:
            todo.append(job)
    check_data(course, assignment, todo)  # DatasetNotFound / ConfigError before any grading
    out.mkdir(parents=True, exist_ok=True)
    refused = []
    for job in todo:  # another assignment's notebook: a row saying so, graded against no suite
        if job.name not in declared:
            declared[job.name] = declared_assignment(_read(job.path))
        message = released_for_another(declared[job.name], assignment) if assignment else None
        if message is not None:
            result = error_result(job, assignment, "error", message, device.name, course)
            write_submission(result, submission_dir(out, job.name))
            results[job.name] = result
            refused.append(job)
            log(f"{job.name}: {message}")
    todo = [job for job in todo if job not in refused]
    backend: Backend
    if cluster is None:
        backend = LocalSlots(paths, course, out, assignment, device, jobs, limits)
    else:
        from grader.batch.cluster import ClusterBackend

        backend = ClusterBackend(cluster, course, out, assignment, device, limits, log)
    try:
        backend.start(todo)
        if progress is not None:
            progress(len(results), total)
        for job, outcome in backend.grade(todo):
            if isinstance(outcome, SubmissionResult):
                result = outcome
            else:  # one row per submission whatever happens
                result = error_result(job, assignment, GRADER_ERROR, grader_error_message(), backend.device_name, course)
                result.grader_errors = [f"the grader failed: {type(outcome).__name__}: {outcome}"]
                write_submission(result, submission_dir(out, job.name))
            results[job.name] = result
            atomic_write(out / GRADES_CSV, gradebook_csv(list(results.values())))
            log(f"{job.name}: {result.score:g}/{result.max_score:g} {result.status}")
            if not warned and result.sandbox and missing(result.sandbox):
                warn(unprotected_warning(result.sandbox))
                warned = True  # once per batch: every worker of a machine reports the same
            if progress is not None:
                progress(len(results), total)
    finally:
        backend.close()
    return warned


def unprotected_warning(report: dict) -> str:
    """The batch's one-time line: which protections a worker's report says were not in force."""
    gaps = ", ".join(f"{p.name} ({p.detail[:100]})" for p in missing(report))
    return (f"warning: on this machine the worker runs without: {gaps}; "
            "see docs/SECURITY.md (grader doctor prints the table)")


def _read(path: Path) -> SubmissionFile | None:
    try:
        return read_submission(path)
    except SubmissionUnreadable:
        return None


def _resume(out: Path, job: Job, log: Callable[[str], None]) -> SubmissionResult | None:
    """The result saved for ``job`` in ``OUT/submissions/<name>/``; else one of the previous,
    flat layout (``OUT/<name>/``), whose folder is then moved into ``OUT/submissions/``."""
    folder = submission_dir(out, job.name)
    done = load_full(folder)
    if done is not None or folder.exists():
        return done
    legacy = Path(out) / job.name
    if job.name in BATCH_NAMES - {GRADES_CSV} or not legacy.is_dir() or legacy.is_symlink():
        # grades.csv/ as a folder was a submission's (the collision this layout ends): moved too
        return None
    old = load_full(legacy)
    if old is None or old.submission != job.name:
        return None
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.rename(legacy, folder)
    log(f"{job.name}: moved from {legacy} (the previous layout) to {folder}")
    return load_full(folder)


def load_batch(out: Path) -> list[SubmissionResult]:
    """Every result saved in the batch folder ``out``: ``OUT/submissions/<name>/``, and folders
    of the previous, flat layout (``OUT/<name>/``) that no newer result replaces."""
    out = Path(out)
    found: dict[str, SubmissionResult] = {}
    nested = out / SUBMISSIONS
    if nested.is_dir():
        for folder in sorted(nested.iterdir()):
            if folder.is_dir() and (result := load_full(folder)) is not None:
                found[folder.name] = result
    for folder in sorted(out.iterdir()):
        if folder.name != SUBMISSIONS and folder.name not in found and folder.is_dir() \
                and (result := load_full(folder)) is not None:
            found[folder.name] = result
    return list(found.values())


def _dataset_loaders() -> dict[str, Callable[[], object]]:
    """``grader.datasets``' loaders by name: ``load_mnist``, ``load_fashion_mnist``, ..."""
    from grader import datasets

    return {name: getattr(datasets, name) for name in dir(datasets)
            if name.startswith("load_") and callable(getattr(datasets, name))}


def suite_datasets(suite: Path, loaders: Iterable[str]) -> list[str]:
    """The dataset loaders (``load_mnist``...) that ``suite`` and the modules of its own
    folder it imports name: read from their source, nothing imported or run."""
    import ast

    wanted, found, seen = set(loaders), [], set()
    pending = [suite]
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        try:
            tree = ast.parse(path.read_text("utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.ImportFrom):
                names = [a.name for a in node.names]
                if node.module and node.level == 0:
                    pending.append(suite.parent / (node.module.split(".")[0] + ".py"))
            elif isinstance(node, ast.Import):
                pending += [suite.parent / (a.name.split(".")[0] + ".py") for a in node.names]
            found += [n for n in names if n in wanted and n not in found]
    return found


def check_data(course: Course, assignment: str | None, todo: list[Job]) -> None:
    """Look up, once and before anything is graded, the data the suite of the batch's
    assignment needs: raise :class:`grader.datasets.DatasetNotFound` (or ``DatasetCorrupt``)
    for a dataset the suite loads, :class:`grader.config.ConfigError` for a declared data file,
    when it is missing. Without this, every submission would be graded with those checks
    failing as grader errors."""
    from grader.engine.grading import course_data

    if assignment is None or not todo:
        return
    loaders = _dataset_loaders()
    spec = course.assignment(assignment)
    course_data(course, spec)
    suite = spec.suite
    if not suite.is_file():
        from grader.config import public_suite_path

        suite = public_suite_path(course, spec)
    for loader in suite_datasets(suite, loaders):
        load = loaders[loader]
        load()
        clear = getattr(load, "cache_clear", None)
        if clear is not None:  # the batch process keeps none of it: the runners load their own
            clear()


class LocalSlots:
    """``--jobs N`` slots on this machine, each with its warm parent."""

    def __init__(self, paths: list[Path], course: Course, out: Path, assignment: str | None,
                 device: DeviceChoice, jobs: int, limits: dict) -> None:
        self.course, self.out, self.assignment, self.device, self.limits = course, out, assignment, device, limits
        self.device_name = device.name
        self.jobs = max(1, jobs)
        self.cores = split_cores(self.jobs)
        self.hide = sorted({str(Path(p).resolve().parent if Path(p).is_file() else Path(p).resolve()) for p in paths}
                           | {str(out.resolve())})
        self.logs = Path(tempfile.mkdtemp(prefix="grader-batch-logs-"))
        self.parents = [WarmParent(slot, self.cores[slot], list(course.preload), self.logs) for slot in range(self.jobs)]
        self.slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.jobs):
            self.slots.put(slot)

    def start(self, todo: list[Job]) -> None:
        # started here, in the main thread, all at once: their imports overlap, and their
        # death signal follows this thread (the batch), not a pool thread
        for parent in self.parents[: len(todo)]:
            parent.start()

    def _run(self, job: Job) -> SubmissionResult:
        slot = self.slots.get()
        try:
            return run_one(job, self.course, self.out, self.assignment, self.device.name, self.device.gpu_for(slot),
                            slot, self.cores[slot], self.limits, self.hide, self.parents[slot])
        finally:
            self.slots.put(slot)

    def grade(self, todo: list[Job]) -> Iterator[Outcome]:
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = {pool.submit(self._run, job): job for job in todo}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except Exception as exc:  # noqa: BLE001 - one row per submission whatever happens
                    yield futures[future], exc

    def close(self) -> None:
        for parent in self.parents:  # all told first: they exit side by side
            parent.release()
        for parent in self.parents:
            parent.close()
        shutil.rmtree(self.logs, ignore_errors=True)


def elapsed(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"
