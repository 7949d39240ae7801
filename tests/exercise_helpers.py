"""Assertions shared by the four exercises' tests: exact points and the words of each message."""

from __future__ import annotations


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
