"""Grading suite of the engine's demo assignment."""

import numpy as np
import pytest

from grader.checks import expect, expect_array, expect_close, expect_equal


@pytest.mark.points(1)
@pytest.mark.target("add")
def test_add_small(submission):
    """add: 2 + 3"""
    expect_equal(submission.call("add", 2, 3), 5, what="add(2, 3)", mistakes=[(6, "you multiplied")])


@pytest.mark.hidden
@pytest.mark.points(2)
@pytest.mark.target("add")
def test_add_random(submission, rng):
    """add: random integers"""
    a, b = (int(x) for x in rng.integers(-1000, 1000, 2))
    expect_equal(submission.call("add", a, b), a + b, what=f"add({a}, {b})")


@pytest.mark.points(2)
@pytest.mark.target("mean")
def test_mean(submission, profile):
    """mean: of an array of the profile's size"""
    x = np.arange(profile["size"], dtype=np.float64)
    expect_close(submission.call("mean", x), float(x.mean()), what="mean(x)")


@pytest.mark.points(1)
@pytest.mark.target("mean")
def test_mean_keeps_input(submission):
    """mean: returns an array of means per row with axis=1"""
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    expect_array(submission.call("mean", x, axis=1), x.mean(axis=1), what="mean(x, axis=1)")


@pytest.mark.points(1)
@pytest.mark.target("ANSWER")
def test_answer(submission):
    """ANSWER is 42"""
    value = submission.value("ANSWER")
    expect(value != Ellipsis, "ANSWER is still `...`")
    expect_equal(value, 42, what="ANSWER")
