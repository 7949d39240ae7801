"""Grading many submissions: one row each, whatever happens, and resumable.

Each submission is graded in a *fresh trusted process*: a runner forked by its slot's warm
parent (:mod:`grader.warm`), which imported TensorFlow once for the whole batch. A crash
of TensorFlow or of the grader itself on one submission costs that submission's row its
score, never the batch. That process writes the submission's files atomically
(:mod:`grader.results`), ``results.json`` last; the batch then rewrites ``grades.csv``.
Re-running on the same output folder skips every submission whose ``results.json``
exists (``--force`` regrades). When the runner dies without writing a result, the batch
writes an ``error`` row itself.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .config import Course
from .device import DeviceChoice, split_cores
from .grading import SubmissionResult, _safe_name
from .manual import write_review
from .results import atomic_write, gradebook_csv, load_full, write_submission
from .warm import WarmParent

SUFFIXES = (".ipynb", ".py")
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git"}


@dataclass
class Job:
    path: Path
    name: str  # folder name under the output directory


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
        name = _safe_name(file.stem)
        if name in used:
            name = _safe_name(f"{file.parent.name}_{file.stem}")
        base, n = name, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        jobs.append(Job(file, name))
    return jobs


def error_result(job: Job, assignment: str | None, status: str, message: str, device: str) -> SubmissionResult:
    return SubmissionResult(job.name, str(job.path), assignment, status, message, 0.0, 0.0, device=device)


def _runner_timeout(course: Course, assignment: str | None, limits: dict) -> float:
    spec = course.assignments.get(assignment) if assignment else None
    worker = (spec.limits if spec else course.limits).merged(limits).timeout
    trusted = float((spec.profiles if spec else {}).get("cpu", {}).get("trusted_seconds", 600)) if spec else 600.0
    return worker + trusted + 60.0


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
) -> list[SubmissionResult]:
    """Grade every submission under ``paths`` into ``out``; one row each, whatever happens.

    ``progress(done, total)`` is called once the work is planned (submissions already
    graded count as done) and after each submission; ``log`` gets one line per submission.
    """
    out.mkdir(parents=True, exist_ok=True)
    files = discover(paths, exclude=[out])
    work = plan(files)
    limits = limits or {}
    results: dict[str, SubmissionResult] = {}
    todo = []
    for job in work:
        done = None if force else load_full(out / job.name)
        if done is not None:
            results[job.name] = done
            log(f"{job.name}: already graded, skipped (use --force to regrade)")
        else:
            todo.append(job)
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(max(1, jobs)):
        slots.put(slot)
    cores = split_cores(max(1, jobs))
    lock = threading.Lock()
    hide = sorted({str(Path(p).resolve().parent if Path(p).is_file() else Path(p).resolve()) for p in paths} | {str(out.resolve())})
    logs = Path(tempfile.mkdtemp(prefix="grader-batch-logs-"))
    # started here, in the main thread, all at once: their imports overlap, and their
    # death signal follows this thread (the batch), not a pool thread
    parents = [WarmParent(slot, cores[slot], list(course.preload), logs) for slot in range(max(1, jobs))]
    for parent in parents[: len(todo)]:
        parent.start()

    def run(job: Job) -> SubmissionResult:
        slot = slots.get()
        try:
            return _run_one(job, course, out, assignment, device, slot, cores[slot], limits, hide, parents[slot])
        finally:
            slots.put(slot)

    total = len(work)
    if progress is not None:
        progress(len(results), total)
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(run, job): job for job in todo}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - one row per submission whatever happens
                    result = error_result(job, assignment, "error", f"the grader failed: {exc}", device.name)
                    write_submission(result, out / job.name)
                with lock:
                    results[job.name] = result
                    atomic_write(out / "grades.csv", gradebook_csv(list(results.values())))
                    done = len(results)
                log(f"{job.name}: {result.score:g}/{result.max_score:g} {result.status}")
                if progress is not None:
                    progress(done, total)
    finally:
        for parent in parents:  # all told first: they exit side by side
            parent.release()
        for parent in parents:
            parent.close()
        shutil.rmtree(logs, ignore_errors=True)
    atomic_write(out / "grades.csv", gradebook_csv(list(results.values())))
    write_review(list(results.values()), out)  # <out>/manual/<question>.md + points.csv for the instructor
    return [results[j.name] for j in work]


def _run_one(job: Job, course: Course, out: Path, assignment: str | None, device: DeviceChoice,
             slot: int, cores: list[int], limits: dict, hide: list[str], parent: WarmParent) -> SubmissionResult:
    folder = out / job.name
    request = {
        "path": str(job.path.resolve()), "assignment": assignment, "config": str(course.root / "autograder.toml"),
        "out": str(folder.resolve()), "device": device.name, "gpu_index": device.gpu_for(slot),
        "slot": slot, "cores": cores, "limits": limits, "hide": hide, "name": job.name,
    }
    timeout = _runner_timeout(course, assignment, limits)
    code, log_tail = parent.run(request, timeout)
    if code is None:
        result = error_result(job, assignment, "timeout", f"grading took longer than {timeout:g} s and was stopped", device.name)
        write_submission(result, folder)
        return result
    result = load_full(folder)
    if result is None or code != 0:
        result = error_result(job, assignment, "error",
                              f"the grader crashed on this submission (exit {code}): {log_tail}", device.name)
        write_submission(result, folder)
    return result


def elapsed(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"
