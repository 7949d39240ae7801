"""One submission's trip through a slot, shared by the local slots (:mod:`grader.batch.batch`)
and a cluster's workers (:mod:`grader.batch.cluster`): the job, its folder, its request to a
warm parent, the row written when the runner could not write its own.

The output folder's layout: each submission's files in ``OUT/submissions/<name>/``
(:func:`submission_dir`), the batch's own (``grades.csv``, ``manual/``, ``.grader-cache``)
at the top, so no submission's name can ever collide with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from grader.batch.slot import WarmParent
from grader.config import Course
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


def _runner_timeout(course: Course, assignment: str | None, limits: dict) -> float:
    spec = course.assignments.get(assignment) if assignment else None
    worker = (spec.limits if spec else course.limits).merged(limits).timeout
    trusted = float((spec.profiles if spec else {}).get("cpu", {}).get("trusted_seconds", 600)) if spec else 600.0
    return worker + trusted + 60.0


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
    timeout = _runner_timeout(course, assignment, limits)
    code, log_tail = parent.run(request, timeout)
    if code is None:
        result = error_result(job, assignment, "timeout", f"grading took longer than {timeout:g} s and was stopped", device,
                              course)
        write_submission(result, folder)
        return result
    result = load_full(folder)
    if result is None or code != 0:
        result = error_result(job, assignment, "error",
                              f"the grader crashed on this submission (exit {code}): {log_tail}", device, course)
        write_submission(result, folder)
    return result
