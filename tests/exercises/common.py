"""What the exercises' tests share: the real course, a cached grading per submission, and
assertions on exact points and the words of each message."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from grader.config import Course, load_course
from grader.engine.grading import grade_file
from grader.model import SubmissionResult

ROOT = Path(__file__).resolve().parents[2]  # the repository: autograder.toml, solutions/, tests/


@functools.cache
def course() -> Course:
    """The repository's own course; data comes from GRADER_DATA_DIR (tests/conftest.py)."""
    return load_course(ROOT / "autograder.toml")


def grader_of(assignment: str, **options) -> Callable[[Path], SubmissionResult]:
    """``graded(path)``: the file graded once on the CPU profile (cached: a module's tests
    share one grading per submission), with ``options`` passed to ``grade_file``."""

    @functools.cache
    def graded(path: Path) -> SubmissionResult:
        return grade_file(path, assignment=assignment, course=course(), device="cpu", **options)

    return graded


def failed_tests(result) -> dict[str, str]:
    """Failed check name -> the message the student reads."""
    return {name: t.output for name, t in result.tests.items() if t.status != "passed"}


def assert_graded_as(result, score: float, expected_failures: dict[str, list[str]],
                     all_tests: set[str], max_score: float) -> None:
    """Exactly these checks fail, each message names the mistake, and the score is exact."""
    assert result.status == "ok", result.message
    assert set(result.tests) == all_tests
    assert result.max_score == max_score
    failures = failed_tests(result)
    assert set(failures) == set(expected_failures), failures
    for test, words in expected_failures.items():
        for word in words:
            assert word in failures[test], f"{test}: {word!r} not in {failures[test]!r}"
    assert result.score == score


def assert_full_marks(result, max_score: float) -> None:
    assert result.status == "ok", result.message
    assert failed_tests(result) == {}
    assert result.score == result.max_score == max_score
