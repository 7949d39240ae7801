"""The data that flows from a grading to the reports: one submission's result and its checks.

Standard library only; every room may import it (it is the bottom layer). Fields are
documented where they are declared, as otter's ``test_files/abstract_test.py`` does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class Status:
    """A submission's status (``SubmissionResult.status``), a string in every file written.

    * ``ok``: the worker ran to the end; the score is the checks' sum.
    * ``error``: the worker was stopped for something its code did, other than time and
      memory: it exited or crashed (exit code, signal), wrote more than the output limit,
      filled its disk or inode limit, started more tasks than allowed, broke the protocol
      (a forged or oversized reply), or the file could not be read. Checks not yet run score 0.
    * ``timeout``: the worker ran past the submission's wall-clock or CPU limit.
    * ``memory``: the worker's resident memory passed its limit.
    * ``grader-error``: the grader failed, not the student (a suite's own code raised, a dataset
      is missing, a worker could not start): shown neutrally, regraded when resumed, and
      ``grader grade`` exits 3.
    """

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    GRADER_ERROR = "grader-error"
    ALL = (OK, ERROR, TIMEOUT, MEMORY, GRADER_ERROR)


STATUSES = Status.ALL
# a row the grader itself failed on (its suite's code raised, a dataset is missing): not the
# student's verdict, regraded when the batch is resumed, and `grader grade` exits 3
GRADER_ERROR = Status.GRADER_ERROR


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
