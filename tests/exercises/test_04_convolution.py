"""The 04_convolution suite grades typical wrong submissions exactly and correct ones fully.

Each file under tests/submissions/04_convolution/ is graded through the real engine
(sandboxed worker, the suite with its hidden tests). A wrong submission must lose exactly
the points of the checks its mistake breaks, and each failed check's message must name
the mistake when the check's inputs confirm it, and never one the submission did not make
(NOT_NAMED); correct submissions written differently from the solution get full marks.
"""

from __future__ import annotations

from tests.exercises.common import ROOT, ExerciseContract, NotNamedContract, grader_of

SUBMISSIONS = ROOT / "tests" / "submissions" / "04_convolution"
ASSIGNMENT = "04_convolution"
MAX_SCORE = 17.0
ALL_TESTS = {
    "test_convolve_small_example", "test_convolve_matches_keras_conv2d",
    "test_convolve_edge_filter_on_ascent", "test_convolve_random_cases",
    "test_convolve_filters_and_weight_on_ascent", "test_to_pixels_small", "test_to_pixels_random",
    "test_max_pool_small", "test_max_pool_odd_size", "test_max_pool_ascent", "test_max_pool_random",
}
CONVOLVE_TESTS = [
    "test_convolve_small_example", "test_convolve_matches_keras_conv2d",
    "test_convolve_edge_filter_on_ascent", "test_convolve_random_cases",
    "test_convolve_filters_and_weight_on_ascent",
]


graded = grader_of(ASSIGNMENT)


def every_convolve_test(*words: str) -> dict[str, list[str]]:
    return {test: list(words) for test in CONVOLVE_TESTS}


# submission -> (score, {failed test: words its message must contain})
WRONG = {
    "wrong_flipped_kernel.py": (8, every_convolve_test("matches the kernel flipped", "cross-correlation")),
    "wrong_transposed_kernel.py": (8, every_convolve_test("matches the kernel transposed")),
    "wrong_clip_in_convolve.py": (8, every_convolve_test("clipped the sums", "to_pixels")),
    "wrong_same_shape.py": (8, every_convolve_test("the output has the image's shape", "valid padding")),
    # the result array made with np.zeros_like(image): right on float images, wrapped on uint8
    "wrong_uint8_output.py": (12, {
        "test_convolve_edge_filter_on_ascent": ["uint8", "wrap around", "np.zeros_like(image)"],
        "test_convolve_random_cases": ["uint8", "wrap"],
        "test_convolve_filters_and_weight_on_ascent": ["uint8", "wrap"],
    }),
    # public checks use weight=1: only the hidden ones see the mistake
    "wrong_ignores_weight.py": (14, {
        "test_convolve_random_cases": ["weight=0.25", "ignored weight"],
        "test_convolve_filters_and_weight_on_ascent": ["weight=0.5", "ignored weight"],
    }),
    "wrong_to_pixels_no_clip.py": (15, {
        "test_to_pixels_small": ["expected 0, found 236", "without clipping"],
        "test_to_pixels_random": ["without clipping"],
    }),
    # within the tolerance of 1 allowed for rounding, but a clipped value is exact
    "wrong_to_pixels_clip_254.py": (15, {
        "test_to_pixels_small": ["values at or above 255 must become exactly 255", "255 became 254"],
        "test_to_pixels_random": ["must become exactly 255"],
    }),
    "wrong_pool_ceil.py": (14, {
        "test_max_pool_odd_size": ["expected shape (2, 3), found (3, 4)", "incomplete blocks"],
        "test_max_pool_random": ["incomplete blocks"],
    }),
    "wrong_pool_stride1.py": (11, {
        "test_max_pool_small": ["found (3, 5)", "move by 1 pixel"],
        "test_max_pool_odd_size": ["move by 1 pixel"],
        "test_max_pool_ascent": ["move by 1 pixel"],
        "test_max_pool_random": ["move by 1 pixel"],
    }),
    "wrong_pool_square.py": (12, {
        "test_max_pool_small": ["found (2, 2)", "not square"],
        "test_max_pool_odd_size": ["not square"],
        "test_max_pool_random": ["not square"],
    }),
    "wrong_mean_pool.py": (11, {
        "test_max_pool_small": ["averaged"],
        "test_max_pool_odd_size": ["averaged"],
        "test_max_pool_ascent": ["averaged"],
        "test_max_pool_random": ["averaged"],
    }),
    # a released notebook: convolve done with four nested loops, to_pixels left as `...`,
    # max_pool keeping the incomplete border blocks
    "partial_student_notebook.ipynb": (12, {
        "test_to_pixels_small": ["found None"],
        "test_to_pixels_random": ["found None"],
        "test_max_pool_odd_size": ["incomplete blocks"],
        "test_max_pool_random": ["incomplete blocks"],
    }),
    # mistakes the first catalogue did not have, which agree with a catalogued one on some
    # inputs only (the horizontal and vertical edge filters are symmetric one way): what
    # differs and where, and no guess (NOT_NAMED)
    "wrong_flipped_rows.py": (8, every_convolve_test("values differ", "expected", "found")),
    "wrong_flipped_columns.py": (8, every_convolve_test("values differ", "expected", "found")),
    "wrong_pool_topleft.py": (11, {
        "test_max_pool_small": ["values differ", "expected 7, found 0"],
        "test_max_pool_odd_size": ["expected shape (2, 3), found (3, 4)", "incomplete blocks at the border"],
        "test_max_pool_ascent": ["values differ"],
        "test_max_pool_random": ["expected shape"],
    }),
}

# submission -> {failed test: words its message must NOT contain}: a mistake the
# submission did not make is never named
NOT_NAMED = {
    "wrong_flipped_rows.py": every_convolve_test("Likely mistake", "flipped"),
    "wrong_flipped_columns.py": every_convolve_test("Likely mistake", "flipped"),
    "wrong_pool_topleft.py": {test: ["Likely mistake", "averaged", "kept the incomplete"] for test in [
        "test_max_pool_small", "test_max_pool_odd_size", "test_max_pool_ascent", "test_max_pool_random"]},
}

CORRECT = ["correct_loops.py", "correct_sliding_window.py"]


class TestContract(NotNamedContract, ExerciseContract):
    """The exercises' contract (tests/exercises/common.py) on this module's submissions, with
    NOT_NAMED; the solution asks no explanation question."""

    ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS = ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS
    WRONG, CORRECT, NOT_NAMED, graded = WRONG, CORRECT, NOT_NAMED, staticmethod(graded)

    def check_solution(self, result):
        assert result.manual == []


def test_feedback_shows_the_filtered_and_pooled_ascent_images():
    result = graded(SUBMISSIONS / "wrong_flipped_kernel.py")
    pictures = {item["test"]: item for item in result.feedback if item["kind"] == "png"}
    assert set(pictures) == {"test_convolve_edge_filter_on_ascent", "test_max_pool_ascent"}
    import base64

    assert all(base64.b64decode(p["png"])[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures.values())
