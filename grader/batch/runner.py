"""Grading one submission in its own trusted process, from a request the batch wrote.

The process is forked per submission by the slot's warm parent (:mod:`grader.batch.slot`), so
a crash of TensorFlow or of the grader on one submission costs that submission's row its
score, never the batch. :func:`run` writes the submission's result files into
``request["out"]``; any failure of its own becomes an ``error`` result where possible.
The request was read from the batch's pipe by this process itself
(:func:`grader.batch.slot.read_request`), never by the warm parent: the worker template
forked below inherits this submission's request and no other.
"""

from __future__ import annotations

import os
import resource
import tempfile
from pathlib import Path
from typing import Any

# imported at the top, so once per slot: the warm parent imports this module (its entry)
# before it forks a runner per submission; imported in run() they cost every runner 0.15 s
# (bench/overhead.py: "outside grade_file" 0.05 s before the layout change, 0.23 s after).
# Code, not grading data: the worker template forked in run() may hold it.
from grader.config import load_course
from grader.engine import prefork
from grader.engine.grading import grade_file
from grader.engine.marks import suite_max_score
from grader.model import GRADER_ERROR, SubmissionResult, grader_error_message
from grader.reports.results import write_submission

DATA_FLOOR = 256 * 1024**2  # the private-data cap never goes below this, whatever the files' share


def limit_memory(limit: int | None) -> int | None:
    """Cap this runner's private data (RLIMIT_DATA, soft limit only) so that its resident set
    stays within ``limit`` bytes (``[limits] trusted_memory``): the limit less the file-backed
    pages already resident (TensorFlow's libraries). Return the cap, or None.

    RLIMIT_DATA, not RLIMIT_AS: TensorFlow reserves far more address space than it touches;
    a private-data cap lets it import and train (measured: a CNN trains under 1.5 GiB) and
    turns an allocation past it into a Python exception (numpy's MemoryError, TensorFlow's
    ResourceExhaustedError) in the check that made it. Only the soft limit: a worker
    started later as a fresh interpreter sets its own (``[limits] memory``), higher or lower.
    The batch watches the resident set as well (:meth:`grader.batch.slot.WarmParent.run`)."""
    if not limit or limit <= 0:
        return None
    cap = max(DATA_FLOOR, int(limit) - _file_resident())
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    return cap


def _file_resident() -> int:
    """Bytes of this process's resident set that are files and shared memory (not private data)."""
    total = 0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(("RssFile:", "RssShmem:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return total


def _record_temporary_folders(ledger: str) -> None:
    """From now on in this process (one submission's runner), write every folder that
    ``tempfile.mkdtemp`` makes to ``ledger``, one per line, before it is returned: a runner
    stopped at a limit removes nothing, the batch removes what the ledger lists."""
    make = tempfile.mkdtemp

    def mkdtemp(*args: Any, **kwargs: Any) -> str:
        path = make(*args, **kwargs)
        with open(ledger, "a", encoding="utf-8") as out:
            out.write(os.path.abspath(path) + "\n")
        return path

    tempfile.mkdtemp = mkdtemp  # type: ignore[assignment]


def run(request: dict[str, Any]) -> int:
    """Grade ``request["path"]``; return the process exit code (0: result files written).

    Runs on the slot's cores: the warm parent pinned itself to them before forking.
    ``request["ledger"]`` (a batch's): a file where each temporary folder this runner makes
    (the worker's scratch folder among them) is written down before it is used, so that the
    batch removes them however the runner ended (:func:`grader.batch.jobs.remove_recorded`).
    ``request["trusted_memory"]``: this runner's memory (:func:`limit_memory`).
    """
    # first, while nothing of the grading is in memory: the worker's template (it inherits
    # neither the ledger nor the memory cap set below: a worker sets its own)
    with prefork.worker_template():
        if request.get("ledger"):
            _record_temporary_folders(request["ledger"])
        limit_memory(request.get("trusted_memory"))
        out = Path(request["out"])
        course = None
        try:
            course = load_course(request["config"])
            result = grade_file(
                request["path"], assignment=request.get("assignment"), course=course, device=request["device"],
                limits=request.get("limits") or {}, slot=int(request.get("slot", 0)), cores=request.get("cores"),
                gpu_index=request.get("gpu_index"), hide=tuple(request.get("hide") or ()),
            )
        except Exception as exc:  # noqa: BLE001 - the row must exist
            # the grader's own failure (a suite that cannot load, a missing data file): a
            # grader-error row, regraded on resume; the detail is for the instructor only
            spec = course.assignments.get(request.get("assignment") or "") if course is not None else None
            result = SubmissionResult(request.get("name", Path(request["path"]).stem), request["path"],
                                      request.get("assignment"), GRADER_ERROR, grader_error_message(),
                                      0.0, suite_max_score(course, spec) if spec else 0.0, device=request["device"],
                                      grader_errors=[f"the grader failed: {type(exc).__name__}: {exc}"])
        result.submission = request.get("name", result.submission)
        write_submission(result, out)
        return 0
