"""``python -m grader.runner REQUEST_JSON``: grade one submission in a fresh trusted process.

Used by :mod:`grader.batch`. Writes the submission's result files into ``out`` and exits
0; any failure of its own is turned into an ``error`` result where possible.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _die_with_parent() -> None:
    """A killed batch takes its runners along (and they take their workers)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> int:
    _die_with_parent()  # before the heavy imports: a batch killed meanwhile must take us along
    request = json.loads(sys.argv[1])
    if request.get("parent") and os.getppid() != request["parent"]:
        return 1  # the batch died before the death signal was armed: nothing to grade for
    from .config import load_course
    from .grading import SubmissionResult, grade_file
    from .results import write_submission

    if request.get("cores") and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, request["cores"])  # the grader's own training stays on its slot's cores
    out = Path(request["out"])
    course = load_course(request["config"])
    try:
        result = grade_file(
            request["path"], assignment=request.get("assignment"), course=course, device=request["device"],
            limits=request.get("limits") or {}, slot=int(request.get("slot", 0)), cores=request.get("cores"),
            gpu_index=request.get("gpu_index"), hide=tuple(request.get("hide") or ()),
        )
    except Exception as exc:  # noqa: BLE001 - the row must exist
        result = SubmissionResult(request.get("name", Path(request["path"]).stem), request["path"],
                                  request.get("assignment"), "error", f"the grader failed: {type(exc).__name__}: {exc}",
                                  0.0, 0.0, device=request["device"])
    result.submission = request.get("name", result.submission)
    write_submission(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
