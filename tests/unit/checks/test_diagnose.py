"""A likely mistake is named only when the check's inputs confirm it (grader.checks.diagnose).

Two hypotheses that agree on one input are not told apart there: no name. A second input
where they differ names the one the student's values follow. A value that matches no
hypothesis gets no guess: the message says what differs and where.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import (
    CheckFailed,
    Mistake,
    call_each,
    diagnose,
    expect_array,
    expect_close,
    expect_equal,
)


def right_pool_size(size, p=2):
    return size // p


CEIL = Mistake("you rounded up", lambda size, p=2: -(-size // p))
NEAREST = Mistake("you rounded to the nearest", lambda size, p=2: int(np.floor(size / p + 0.5)))
POOL_MISTAKES = [CEIL, NEAREST]


def student(fn, inputs):
    return [(args, fn(*args)) for args in inputs]


def test_two_hypotheses_agreeing_on_the_only_input_are_not_named():
    # 13 / 2 = 6.5: rounding up and rounding to the nearest (halves up) both give 7
    cases = student(CEIL.fn, [(13, 2)])
    assert CEIL.fn(13, 2) == NEAREST.fn(13, 2) == 7
    assert diagnose(cases, POOL_MISTAKES, right_pool_size) is None


def test_a_third_input_separates_what_two_did_not():
    cases = student(CEIL.fn, [(13, 2), (15, 2), (17, 4)])  # fractions .5, .5, .25 -> .25: 5 vs 4
    assert CEIL.fn(17, 4) != NEAREST.fn(17, 4)
    assert diagnose(cases, POOL_MISTAKES, right_pool_size) == "you rounded up"
    cases = student(CEIL.fn, [(13, 2), (15, 2)])  # both hypotheses reproduce both: no name
    assert diagnose(cases, POOL_MISTAKES, right_pool_size) is None


def test_a_second_input_that_separates_them_names_the_one_followed():
    inputs = [(13, 2), (13, 3)]  # 6.5 (both give 7), then 4.33: up gives 5, nearest 4 (= right)
    assert diagnose(student(CEIL.fn, inputs), POOL_MISTAKES, right_pool_size) == "you rounded up"
    # rounding to the nearest is right on the second input: it is seen once only, not confirmed
    assert diagnose(student(NEAREST.fn, inputs), POOL_MISTAKES, right_pool_size) is None
    inputs = [(13, 2), (13, 3), (14, 3)]  # 4.67: nearest gives 5 (wrong), seen a second time
    assert diagnose(student(NEAREST.fn, inputs), POOL_MISTAKES, right_pool_size) == "you rounded to the nearest"


def test_a_value_that_matches_no_hypothesis_gets_no_guess_and_says_what_differs_and_where():
    inputs = [(13, 2), (14, 3)]
    cases = student(lambda size, p=2: size // p - 1, inputs)
    assert diagnose(cases, POOL_MISTAKES, right_pool_size) is None
    with pytest.raises(CheckFailed) as info:
        for args, found in cases:
            expect_equal(found, right_pool_size(*args), f"pool_output_size{args}", mistakes=POOL_MISTAKES,
                         cases=cases, right=right_pool_size)
    assert str(info.value) == "pool_output_size(13, 2): expected 6, found 5."


def test_a_student_who_makes_the_mistake_on_some_inputs_only_is_not_named():
    # right on even kernels... wrong on odd ones: follows "size - k" on part of the inputs
    def right(size, k):
        return size - k + 1

    short = Mistake("one position short", lambda size, k: size - k)
    found = [((28, 5), 23), ((28, 3), 26), ((30, 4), 26)]  # wrong, right, wrong
    assert diagnose(found, [short], right) is None
    found = [((28, 5), 23), ((28, 3), 25), ((30, 4), 26)]
    assert diagnose(found, [short], right) == "one position short"


def test_array_mistakes_are_confirmed_on_two_kernels():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (6, 7))

    def conv(img, kernel):
        h, w = img.shape[0] - kernel.shape[0] + 1, img.shape[1] - kernel.shape[1] + 1
        return sum(kernel[i, j] * img[i:i + h, j:j + w] for i in range(kernel.shape[0]) for j in range(kernel.shape[1]))

    mistakes = [Mistake("flipped", lambda img, k: conv(img, k[::-1, ::-1])),
                Mistake("transposed", lambda img, k: conv(img, k.T))]
    horizontal = np.array([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]])
    slanted = np.array([[2.0, 1, 0], [1, 0, -1], [0, -2, -2]])
    # flipping only the rows of the horizontal filter is the same as flipping it both ways
    rows_only = [((image, k), conv(image, k[::-1, :])) for k in (horizontal, horizontal * 2)]
    assert diagnose(rows_only, mistakes, conv) == "flipped"  # same kernel twice: nothing separates
    rows_only = [((image, k), conv(image, k[::-1, :])) for k in (horizontal, slanted)]
    assert diagnose(rows_only, mistakes, conv) is None  # an asymmetric kernel does
    flipped = [((image, k), conv(image, k[::-1, ::-1])) for k in (horizontal, slanted)]
    assert diagnose(flipped, mistakes, conv) == "flipped"
    with pytest.raises(CheckFailed) as info:
        expect_array(rows_only[1][1], conv(image, slanted), "convolve", mistakes=mistakes, cases=rows_only,
                     right=conv)
    message = str(info.value)
    assert "values differ at" in message and "e.g. at index" in message and "Likely mistake" not in message


def test_float32_results_match_their_mistake():
    def right(x):
        return float(np.mean(x))

    pct = Mistake("a percentage", lambda x: 100 * float(np.mean(x)))
    inputs = [(np.array([0.1, 0.2, 0.7]),), (np.array([1 / 3, 0.5]),)]
    cases = [(args, float(np.float32(100 * np.mean(args[0], dtype=np.float32)))) for args in inputs]
    assert diagnose(cases, [pct], right, rtol=1e-9, atol=1e-9) == "a percentage"
    with pytest.raises(CheckFailed, match="Likely mistake: a percentage"):
        expect_close(cases[0][1], right(*inputs[0]), "mean", mistakes=[pct], cases=cases, right=right)


def test_old_style_value_mistakes_are_named_only_when_unique():
    with pytest.raises(CheckFailed) as info:
        expect_equal(7840, 7850, "count", mistakes=[(7840, "no biases"), (8624, "a bias per input")])
    assert str(info.value).endswith("Likely mistake: no biases")
    with pytest.raises(CheckFailed) as info:  # two explanations for one value: no guess
        expect_equal(7840, 7850, "count", mistakes=[(7840, "no biases"), (7840, "something else")], hint="recount")
    assert str(info.value) == "count: expected 7850, found 7840. recount"


def test_a_mistake_given_as_a_function_needs_the_right_answer():
    with pytest.raises(ValueError, match="right="):
        expect_equal(7, 6, "x", mistakes=[CEIL], cases=[((13, 2), 7), ((15, 2), 8)])


class _Submission:
    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def call(self, name, *args):
        self.calls.append(args)
        try:
            return self.fn(*args)
        except Exception as exc:
            raise CheckFailed(f"{name} raised {type(exc).__name__}") from None


def test_call_each_stops_at_the_first_error_which_is_raised_in_its_turn():
    sub = _Submission(lambda size, p=2: size // p if size < 20 else 1 // 0)
    cases = call_each(sub, "pool_output_size", [(13,), (25,), (9,)])
    assert sub.calls == [(13,), (25,)]  # nothing after the error is called
    assert cases[0] == ((13,), 6) and isinstance(cases[1][1], CheckFailed)
    expect_equal(cases[0][1], 6, "pool_output_size(13)")  # judged in order: the first is right
    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        expect_equal(cases[1][1], 12, "pool_output_size(25)", mistakes=POOL_MISTAKES, cases=cases,
                     right=right_pool_size)
    assert diagnose(cases, POOL_MISTAKES, right_pool_size) is None  # one case left: nothing confirmed
