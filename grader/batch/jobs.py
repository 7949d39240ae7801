"""One submission's trip through a slot, shared by the local slots (:mod:`grader.batch.batch`)
and a cluster's workers (:mod:`grader.batch.cluster`): the job, its folder, its request to a
warm parent, the row written when the runner could not write its own.

The output folder's layout: each submission's files in ``OUT/submissions/<name>/``
(:func:`submission_dir`), the batch's own (``grades.csv``, ``manual/``, ``.grader-cache``)
at the top, so no submission's name can ever collide with them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from grader.batch.slot import WarmParent
from grader.config import Course, Limits
from grader.engine.marks import suite_max_score
from grader.model import SubmissionResult
from grader.reports.results import load_full, write_submission

SUBMISSIONS = "submissions"  # OUT/submissions/<name>/: the submissions' folders, apart from the batch's files


@dataclass
class Job:
    path: Path
    name: str  # its folder's name under OUT/submissions/ (and the row's `submission`)


def submission_dir(out: Path, name: str) -> Path:
    """Where the files of submission ``name`` of the batch in ``out`` are written."""
    return Path(out) / SUBMISSIONS / name


def error_result(job: Job, assignment: str | None, status: str, message: str, device: str,
                 course: Course | None = None) -> SubmissionResult:
    """The row of a submission no suite finished on: score 0 out of the assignment's real
    total (read from its suite), so the gradebook's columns stay comparable."""
    spec = course.assignments.get(assignment) if course is not None and assignment else None
    total = suite_max_score(course, spec) if spec is not None else 0.0
    return SubmissionResult(job.name, str(job.path), assignment, status, message, 0.0, total, device=device)


def _limits(course: Course, assignment: str | None, limits: dict) -> Limits:
    spec = course.assignments.get(assignment) if assignment else None
    return (spec.limits if spec else course.limits).merged(limits)


def _runner_timeout(limits: Limits) -> float:
    """When the batch stops a runner: the student's time, the grader's own, a minute to start and write."""
    return limits.timeout + limits.trusted_timeout + 60.0


def _gib(n: int) -> str:
    return f"{n / 1024**3:.3g} GiB" if n >= 1024**3 else f"{n / 1024**2:.0f} MiB"


NOT_A_VERDICT = "This is the grader's limit, not a verdict on your code: your instructor can see it in the gradebook."


def _stopped_message(why: str, limits: Limits, timeout: float) -> str:
    """The row's message for a runner the batch stopped: the grader-side limit it passed."""
    if why == "memory":
        return (f"the grader's own work on this submission (rebuilding, training and evaluating its models) "
                f"passed the grader's memory limit ({_gib(limits.trusted_memory)}, [limits] trusted_memory) and "
                f"was stopped. {NOT_A_VERDICT}")
    return (f"the grader's own work on this submission took longer than the grader's time limit for it "
            f"({timeout:g} s: {limits.timeout:g} s for your code, {limits.trusted_timeout:g} s for the grader's "
            f"work, [limits] trusted_timeout, 60 s to start) and was stopped. {NOT_A_VERDICT}")


def remove_recorded(ledger: str) -> None:
    """Remove the temporary folders a runner wrote down in ``ledger`` (grader.batch.runner),
    then the ledger. Only folders the grader names (``grader-*``), never through a link."""
    try:
        with open(ledger, encoding="utf-8") as listed:
            folders = [line.strip() for line in listed if line.strip()]
    except OSError:
        folders = []
    for folder in folders:
        path = Path(folder)
        if path.is_absolute() and path.name.startswith("grader-") and not path.is_symlink() and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    try:
        os.unlink(ledger)
    except OSError:
        pass


Outcome = tuple[Job, "SubmissionResult | BaseException"]


class Backend(Protocol):
    """Where the submissions are graded: local slots or a cluster. :meth:`grade` yields each
    job once, as it completes, with its result (its files already written under ``out``)
    or the exception that lost it (the batch then writes an ``error`` row)."""

    device_name: str

    def start(self, todo: list[Job]) -> None: ...

    def grade(self, todo: list[Job]) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


def run_one(job: Job, course: Course, out: Path, assignment: str | None, device: str, gpu_index: int | str | None,
             slot: int, cores: list[int] | None, limits: dict, hide: list[str], parent: WarmParent) -> SubmissionResult:
    """Grade ``job`` in a runner forked by ``parent``; its files end up in ``out/submissions/<name>``.
    Shared by the local slots and the cluster's workers (:mod:`grader.batch.cluster`)."""
    folder = submission_dir(out, job.name)
    request = {
        "path": str(job.path.resolve()), "assignment": assignment, "config": str(course.root / "autograder.toml"),
        "out": str(folder.resolve()), "device": device, "gpu_index": gpu_index,
        "slot": slot, "cores": cores, "limits": limits, "hide": hide, "name": job.name,
    }
    lim = _limits(course, assignment, limits)
    timeout = _runner_timeout(lim)
    # the runner writes down each temporary folder it makes (the worker's scratch folder among
    # them) and they are removed here however it ended: a runner killed at a limit removes nothing
    fd, ledger = tempfile.mkstemp(prefix="grader-job-", suffix=".folders")
    os.close(fd)
    request.update(ledger=ledger, trusted_memory=lim.trusted_memory or None)
    try:
        code, log_tail = parent.run(request, timeout, memory=lim.trusted_memory or None)
    finally:
        remove_recorded(ledger)
    why = parent.stopped
    if code is not None and code != 0 and lim.trusted_memory and parent.peak >= 0.9 * lim.trusted_memory:
        why = "memory"  # it died near its memory limit (an allocation failed where it could not be caught)
    if code is None or why is not None:
        # the grader's limit, not the student's: `error` (kept on resume) with the real total
        result = error_result(job, assignment, "error", _stopped_message(why or "timeout", lim, timeout), device,
                              course)
        write_submission(result, folder)
        return result
    result = load_full(folder)
    if result is None or code != 0:
        result = error_result(job, assignment, "error",
                              f"the grader crashed on this submission (exit {code}): {log_tail}", device, course)
        write_submission(result, folder)
    return result
