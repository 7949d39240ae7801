"""expect_close / expect_array accept what is right in float32 and say clearly what is not."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import CheckFailed, expect_array, expect_close
from grader.checks.expect import show_pair


def test_a_float32_result_passes_a_float64_reference():
    image = np.random.default_rng(0).uniform(0, 255, (64, 64))
    kernel = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)
    reference = sum(kernel[i, j] * image[i:62 + i, j:62 + j] for i in range(3) for j in range(3))
    single = sum(np.float32(kernel[i, j]) * image.astype(np.float32)[i:62 + i, j:62 + j]
                 for i in range(3) for j in range(3))
    assert single.dtype == np.float32
    assert not np.allclose(single, reference, rtol=1e-7, atol=1e-7)  # float32 really differs
    expect_array(single, reference, "convolution", rtol=1e-7, atol=1e-7)  # and is accepted
    with pytest.raises(CheckFailed):  # float64 at the same distance is not
        expect_array(reference + (single - reference) * 50, reference, "convolution", rtol=1e-7, atol=1e-7)


def test_a_wrong_float32_result_still_fails():
    reference = np.linspace(0, 100, 50)
    with pytest.raises(CheckFailed, match="values differ"):
        expect_array((reference * 1.01).astype(np.float32), reference, "scaled", rtol=1e-6, atol=1e-6)


def test_a_scalar_computed_in_float32_passes():
    exact = 105.396 + 1e-9  # not a float32
    single = float(np.float32(exact))  # what reaches the trusted side: a float that is exactly a float32
    assert abs(single - exact) > 1e-7
    expect_close(single, exact, "mean", rtol=1e-9, atol=1e-9)
    with pytest.raises(CheckFailed):
        expect_close(exact + 1e-3, exact, "mean", rtol=1e-9, atol=1e-9)


def test_messages_show_enough_digits_to_differ():
    assert show_pair(105.396, 105.39600372314453) == ("105.396", "105.396004")
    assert show_pair(2.0, 3.0) == ("2", "3")
    with pytest.raises(CheckFailed) as info:
        expect_close(105.3961, 105.396, "mean", rtol=1e-9, atol=1e-9)
    assert "expected 105.396, found 105.3961" in str(info.value)
