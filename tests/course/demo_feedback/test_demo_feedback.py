"""Grading suite of the engine's demo_feedback assignment: every check attaches feedback.

``flip`` records an image pair (yours / expected), ``smooth`` a curve (yours / expected),
``classify`` a table whose mismatching rows are highlighted. Exercises the ``feedback``
fixture and feedback.html end to end.
"""

import numpy as np
import pytest

from grader.checks import expect, expect_array


def _pattern() -> np.ndarray:
    image = np.zeros((12, 20))
    image[2:10, 2:6] = 1.0  # a bar on the left: a flipped image has it on the right
    image[2:4, 6:16] = 0.5
    return image


@pytest.mark.points(2)
@pytest.mark.target("flip")
def test_flip(submission, feedback):
    """flip: mirrors an image left to right"""
    image = _pattern()
    found = np.asarray(submission.call("flip", image), dtype=np.float64)
    expected = image[:, ::-1]
    if found.shape == expected.shape:
        feedback.images("your flip / the expected flip", {"yours": found, "expected": expected})
    expect_array(found, expected, what="flip(image)")


@pytest.mark.points(1)
@pytest.mark.target("smooth")
def test_smooth(submission, feedback):
    """smooth: moving average over a window of 3"""
    values = np.array([0.0, 3.0, 0.0, 3.0, 0.0, 3.0, 9.0, 3.0, 0.0, 3.0])
    found = np.asarray(submission.call("smooth", values, 3), dtype=np.float64)
    expected = np.convolve(values, np.ones(3) / 3, mode="valid")
    expect(found.ndim == 1, f"smooth(values, 3) returned shape {found.shape}; expected a 1-D array")
    feedback.curves("smooth(values, 3)", {"yours": found.tolist(), "expected": expected.tolist()},
                    xlabel="position", ylabel="value")
    expect_array(found, expected, what="smooth(values, 3)")


@pytest.mark.points(2)
@pytest.mark.target("classify")
def test_classify(submission, feedback):
    """classify: the sign of each number as a word"""
    xs = [-2.0, -0.5, 0.0, 0.5, 3.0]
    expected = ["negative", "negative", "zero", "positive", "positive"]
    found = [submission.call("classify", x) for x in xs]
    wrong = [i for i, (f, e) in enumerate(zip(found, expected, strict=True)) if f != e]
    feedback.table("classify(x) for each x", ["x", "expected", "yours"],
                   [[x, e, f] for x, e, f in zip(xs, expected, found, strict=True)], highlight=wrong)
    assert not wrong, (f"classify is wrong for {len(wrong)} of {len(xs)} inputs, e.g. "
                       f"classify({xs[wrong[0]]}) returned {found[wrong[0]]!r}, expected {expected[wrong[0]]!r}"
                       if wrong else "")


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("classify")
def test_classify_hidden(submission, feedback):
    """classify: large numbers"""
    found = submission.call("classify", 1e9)
    feedback.text("secret case", f"classify(1e9) returned {found!r}")
    assert found == "positive", f"classify(1e9) returned {found!r}; the secret answer is 'positive'"
