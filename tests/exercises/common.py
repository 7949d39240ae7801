"""What the exercises' tests share: the real course, a cached grading per submission,
assertions on exact points and the words of each message, and the contract every exercise
module checks (``ExerciseContract``), written once here.

An exercise module sets its data on a subclass named ``TestContract`` (pytest collects it):

    class TestContract(SlowExerciseContract):   # or ExerciseContract: gradings that train nothing
        ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS = ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS
        WRONG, EXTRA, CORRECT, SLOT, graded = WRONG, EXTRA, CORRECT, SLOT, staticmethod(graded)

and overrides a ``check_*`` hook for what only its exercise asserts besides.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import nbformat
import pytest

from grader.config import Course, load_course
from grader.course.release import student_notebook
from grader.engine.grading import grade_file
from grader.model import SubmissionResult

ROOT = Path(__file__).resolve().parents[2]  # the repository: autograder.toml, solutions/, tests/

# submission -> (score, {failed test: words its message must contain})
Expected = dict[str, tuple[float, dict[str, list[str]]]]


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


def all_submissions() -> bool:
    """GRADER_ALL_SUBMISSIONS=1: grade each module's EXTRA submissions as well."""
    return os.environ.get("GRADER_ALL_SUBMISSIONS", "").lower() in ("1", "true", "yes")


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


class ExerciseContract:
    """Every exercise's suite, graded through the real engine (sandboxed worker, hidden checks):
    each file under SUBMISSIONS is catalogued; a wrong submission loses exactly the points of
    the checks its mistake breaks, each failed message naming the mistake; correct ones and the
    solution notebook get full marks; the released student notebook, blank, gets zero.

    Not collected itself (its name does not start with Test); a module's ``TestContract``
    subclass sets the attributes below. Its ``pytest_generate_tests`` (pytest calls it on the
    class) parametrizes the tests over the class's own WRONG and CORRECT.
    """

    ASSIGNMENT: ClassVar[str]
    SUBMISSIONS: ClassVar[Path]  # tests/submissions/<assignment>/: every .py and .ipynb in it
    MAX_SCORE: ClassVar[float]
    ALL_TESTS: ClassVar[set[str]]  # the suite's check names, hidden ones included
    WRONG: ClassVar[Expected]  # graded by default
    EXTRA: ClassVar[Expected] = {}  # graded too with GRADER_ALL_SUBMISSIONS=1 (all_submissions())
    CORRECT: ClassVar[list[str]]  # written differently from the solution: full marks
    # the sandbox slot of the module's gradings (grade_file's slot: where the search for a free
    # worker uid starts, and the cores); worker uids are claimed by flock (engine/sandbox.py)
    SLOT: ClassVar[int] = 0
    # path -> the submission graded once: the module's grader_of(...), as staticmethod(graded),
    # so that the module's own tests share its gradings
    graded: ClassVar[Callable[[Path], SubmissionResult]]

    @classmethod
    def wrong(cls) -> Expected:
        """The wrong submissions this run grades."""
        return {**cls.WRONG, **cls.EXTRA} if all_submissions() else dict(cls.WRONG)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        names = {
            "test_wrong_submission_gets_exact_points": sorted(self.wrong()),
            "test_correct_submission_gets_full_marks": list(self.CORRECT),
            "test_a_mistake_not_made_is_not_named": sorted(getattr(self, "NOT_NAMED", {})),
        }.get(metafunc.function.__name__)
        if names is not None:
            metafunc.parametrize("name", names)

    # hooks: what a module asserts besides, after the contract's own assertions passed

    def check_coverage(self) -> None:
        """Called by test_every_submission_is_covered."""

    def check_wrong(self, name: str, result: SubmissionResult, expected_failures: dict[str, list[str]]) -> None:
        """Called for each wrong submission, once its exact points are confirmed."""

    def check_correct(self, name: str, result: SubmissionResult) -> None:
        """Called for each correct submission, once its full marks are confirmed."""

    def check_solution(self, result: SubmissionResult) -> None:
        """Called for the solution notebook, once its full marks are confirmed."""

    def check_blank(self, result: SubmissionResult) -> None:
        """Called for the blank student notebook, once its zero is confirmed."""

    # the contract

    def test_every_submission_is_covered(self):
        files = {p.name for p in self.SUBMISSIONS.iterdir() if p.suffix in (".py", ".ipynb")}
        assert files == set(self.WRONG) | set(self.EXTRA) | set(self.CORRECT)
        assert self.WRONG and self.CORRECT
        self.check_coverage()

    def test_wrong_submission_gets_exact_points(self, name):
        score, expected_failures = self.wrong()[name]
        result = self.graded(self.SUBMISSIONS / name)
        assert_graded_as(result, score, expected_failures, self.ALL_TESTS, self.MAX_SCORE)
        self.check_wrong(name, result, expected_failures)

    def test_correct_submission_gets_full_marks(self, name):
        result = self.graded(self.SUBMISSIONS / name)
        assert_full_marks(result, self.MAX_SCORE)
        self.check_correct(name, result)

    def test_solution_notebook_gets_full_marks(self):
        result = self.graded(course().assignment(self.ASSIGNMENT).notebook)
        assert_full_marks(result, self.MAX_SCORE)
        assert set(result.tests) == self.ALL_TESTS
        self.check_solution(result)

    def test_blank_student_notebook_gets_zero(self, tmp_path):
        spec = course().assignment(self.ASSIGNMENT)
        stub = tmp_path / f"{self.ASSIGNMENT}.ipynb"
        stub.write_text(student_notebook(spec), encoding="utf-8")
        assert "SOLUTION" not in stub.read_text(encoding="utf-8")
        nb = nbformat.read(stub, as_version=4)
        assert not any("SOLUTION" in c.source for c in nb.cells)
        result = grade_file(stub, assignment=self.ASSIGNMENT, course=course(), device="cpu", slot=self.SLOT)
        assert result.status == "ok", result.message
        assert result.score == 0
        assert result.max_score == self.MAX_SCORE
        self.check_blank(result)


class SlowExerciseContract(ExerciseContract):
    """The same contract for an exercise whose gradings train models: every test that grades
    is marked slow (the catalogue check stays fast)."""

    @pytest.mark.slow
    def test_wrong_submission_gets_exact_points(self, name):
        super().test_wrong_submission_gets_exact_points(name)

    @pytest.mark.slow
    def test_correct_submission_gets_full_marks(self, name):
        super().test_correct_submission_gets_full_marks(name)

    @pytest.mark.slow
    def test_solution_notebook_gets_full_marks(self):
        super().test_solution_notebook_gets_full_marks()

    @pytest.mark.slow
    def test_blank_student_notebook_gets_zero(self, tmp_path):
        super().test_blank_student_notebook_gets_zero(tmp_path)


class NotNamedContract:
    """Mixin: a failed check never names a mistake the submission did not make. The class
    sets NOT_NAMED: submission -> {failed test: words its message must NOT contain}."""

    NOT_NAMED: ClassVar[dict[str, dict[str, list[str]]]]

    def test_a_mistake_not_made_is_not_named(self, name):
        failures = failed_tests(self.graded(self.SUBMISSIONS / name))
        for test, words in self.NOT_NAMED[name].items():
            assert test in failures, (test, failures)
            for word in words:
                assert word not in failures[test], f"{test}: {word!r} in {failures[test]!r}"
