"""Issue 12 (item 4): the wire protocol takes nothing on faith.

Real submissions of the engine test course's ``demo`` assignment (``add``, ``mean``,
``ANSWER``: 7 points) write forged frames straight into the worker's reply pipe
(tests/hostile/protocol_submissions/; kept out of tests/hostile/submissions/, which is one
batch whose rows test_hostile.py counts). Each is graded through ``grade_file`` and must be a
protocol breach: status ``error``, a message that names it, nothing scored, every check not
run saying why; never a timeout, never "the grader could not check this", and the trusted
process does not grow by what the frame announces.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader.config import Course
from grader.engine.grading import grade_file
from grader.model import GRADER_ERROR, SubmissionResult
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CORPUS = ROOT / "tests" / "hostile" / "protocol_submissions"
BREACH = r"your code broke the grading protocol \(a malformed answer\): "
CHECKS = ("test_add_small", "test_add_random", "test_mean", "test_mean_keeps_input", "test_answer")


class PeakRSS:
    """The highest resident set of this (the trusted) process while the block runs."""

    def __enter__(self) -> PeakRSS:
        self.proc = psutil.Process()
        self.start = self.peak = self.proc.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _grade(course: Course, name: str) -> tuple[SubmissionResult, float]:
    start = time.monotonic()
    result = grade_file(Path(CORPUS / f"{name}.py"), assignment="demo", course=course)
    return result, time.monotonic() - start


def _assert_breach(result: SubmissionResult, detail: str) -> None:
    text = f"{result.status}: {result.message}\n" + "\n".join(f"{t.name}: {t.output}" for t in result.tests.values())
    assert result.status == "error", text
    assert result.score == 0, text
    assert re.search(BREACH + detail, result.message), text
    assert set(CHECKS) <= set(result.tests), text
    for test in result.tests.values():
        assert test.status != GRADER_ERROR and test.score == 0, text
        assert re.search(r"Not graded: your code broke the grading protocol", test.output), text
    assert "time limit" not in result.message and "could not check" not in text, text


def test_a_512_mb_prefix_for_a_request_nobody_sent_is_refused_from_its_prefix(course):
    with PeakRSS() as rss:
        result, seconds = _grade(course, "huge_prefix")
    _assert_breach(result, r"a frame for request 987654321 came while request \d+ was awaited")
    assert rss.growth < 200 * 1024**2, f"the trusted process grew by {rss.growth >> 20} MiB"
    assert seconds < 25, seconds  # the time limit is 30 s: refused long before it


def test_a_frame_nesting_100000_lists_is_a_breach_not_a_recursion_error(course):
    result, seconds = _grade(course, "deep_nesting")
    _assert_breach(result, r"frame is nested too deeply")
    # the breach came from the first check's call: the worker was stopped there
    assert "add(2, 3)" not in result.tests["test_add_small"].output
    assert seconds < 25, seconds
