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

from pathlib import Path
from typing import Any

from grader.engine import prefork


def run(request: dict[str, Any]) -> int:
    """Grade ``request["path"]``; return the process exit code (0: result files written).

    Runs on the slot's cores: the warm parent pinned itself to them before forking.
    """
    # first, while nothing of the grading is in memory: the worker's template
    with prefork.worker_template():
        from grader.config import load_course
        from grader.engine.grading import grade_file
        from grader.engine.marks import suite_max_score
        from grader.model import GRADER_ERROR, SubmissionResult, grader_error_message
        from grader.reports.results import write_submission

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
