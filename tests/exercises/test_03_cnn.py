"""The 03_cnn suite grades typical wrong submissions exactly and correct ones fully.

Each file under tests/submissions/03_cnn/ is graded once through the real engine (sandboxed
worker, the suite with its hidden tests, the grader's own training on the CPU profile). A
wrong submission must lose exactly the points of the checks its mistake breaks, and each
failed check's message must name the mistake; correct submissions written differently from
the solution get full marks.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings

import pytest

from tests.exercises.common import ROOT, SlowExerciseContract, course, grader_of

SUBMISSIONS = ROOT / "tests" / "submissions" / "03_cnn"
ASSIGNMENT = "03_cnn"
MAX_SCORE = 12.0
SLOT = 23  # this module's own sandbox slot (ExerciseContract.SLOT, tests/exercises/common.py)
ALL_TESTS = {
    "test_reshape_and_normalize_shape", "test_reshape_and_normalize_values",
    "test_reshape_and_normalize_any_count", "test_reshape_and_normalize_new_array",
    "test_build_cnn_layers", "test_build_cnn_activations", "test_build_cnn_compile",
    "test_build_cnn_trains",
}


graded = grader_of(ASSIGNMENT, slot=SLOT)


# submission -> (score, {failed test: words its message must contain})
WRONG = {
    "wrong_same_padding.py": (9, {
        "test_build_cnn_layers": ["padding='same', expected padding='valid'",
                                  "output shape (28, 28, 64), expected (26, 26, 64)",
                                  "333,898 parameters, expected 243,786"],
    }),
    "wrong_no_second_pooling.py": (9, {
        "test_build_cnn_layers": ["a MaxPooling2D((2, 2)) layer is missing after layer 2",
                                  "not halved"],
    }),
    "wrong_32_filters.py": (9, {
        "test_build_cnn_layers": ["filters=32, expected filters=64", "number of output channels"],
    }),
    "wrong_sigmoid_output.py": (11, {
        "test_build_cnn_activations": ["activation 'sigmoid', expected 'softmax'", "sum to 1"],
    }),
    "wrong_logits_output.py": (7, {
        "test_build_cnn_activations": ["activation 'linear', expected 'softmax'", "logits"],
        "test_build_cnn_compile": ["outputs logits", "expects probabilities"],
        "test_build_cnn_trains": ["test images correctly; at least 78% is expected",
                                  "Likely cause: the last layer outputs logits"],
    }),
    "wrong_keras2_compile.py": (8, {
        "test_build_cnn_compile": ["loss_weights", "pass metrics=['accuracy'] by keyword"],
        "test_build_cnn_trains": ["loss_weights that are not numbers", "by keyword"],
    }),
    "wrong_no_channel_axis.py": (9, {
        "test_reshape_and_normalize_shape": ["expected shape (5, 28, 28, 1), found (5, 28, 28)",
                                             "channel axis"],
        "test_reshape_and_normalize_values": ["channel axis"],
        "test_reshape_and_normalize_any_count": ["channel axis"],
    }),
}
# Graded only with GRADER_ALL_SUBMISSIONS=1 (ExerciseContract.wrong()): every 03 submission
# costs a training run of the grader's (~10-20 s), and the set above already covers each check;
# these add more mistakes.
EXTRA = {
    "wrong_not_normalized.py": (10, {
        "test_reshape_and_normalize_values": ["not scaled", "divide by 255"],
        "test_reshape_and_normalize_any_count": ["divide by 255"],
    }),
    "wrong_in_place.py": (11, {
        "test_reshape_and_normalize_new_array": ["changed the array it was given", "in-place"],
    }),
    "wrong_sgd.py": (8, {
        "test_build_cnn_compile": ["optimizer: expected 'adam', found 'sgd'"],
        "test_build_cnn_trains": ["at least 78% is expected", "optimizer: expected 'adam'"],
    }),
}

CORRECT = ["correct_functional.py", "correct_add_layers.py", "correct_tf_nn_activations.py"]


class TestContract(SlowExerciseContract):
    """The exercises' contract (tests/exercises/common.py) on this module's submissions."""

    ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS = ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS
    WRONG, EXTRA, CORRECT, SLOT, graded = WRONG, EXTRA, CORRECT, SLOT, staticmethod(graded)


def test_profiles_have_what_the_suite_reads():
    for device in ("cpu", "gpu"):
        profile = course().profile(course().assignment(ASSIGNMENT), device)
        assert {"train_samples", "epochs", "batch_size", "test_accuracy"} <= set(profile)
    gpu = course().profile(course().assignment(ASSIGNMENT), "gpu")
    assert (gpu["train_samples"], gpu["epochs"]) == (60000, 5)


def test_calibration_trains_the_architecture_the_suite_expects():
    pytest.importorskip("keras")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import calibrate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("suite_03_cnn", course().assignment(ASSIGNMENT).suite)
    suite = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # the suite's markers are registered by the grader's plugin
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        spec.loader.exec_module(suite)
    from grader.checks import compare_layers

    report = compare_layers(calibrate.cnn_variant("reference"), suite.EXPECTED_LAYERS,
                            input_shape=suite.INPUT_SHAPE)
    assert report.ok, report.message()
    # the one-mistake variant calibrated against is one the suite also names
    assert not compare_layers(calibrate.cnn_variant("logits_output"), suite.EXPECTED_LAYERS).ok


@pytest.mark.slow
def test_feedback_table_highlights_the_layers_that_differ():
    wrong = [i for i in graded(SUBMISSIONS / "wrong_same_padding.py").feedback if i["kind"] == "table"]
    right = [i for i in graded(SUBMISSIONS / "correct_functional.py").feedback if i["kind"] == "table"]
    assert wrong and wrong[0]["highlight"][0] == 0  # the first convolution already differs
    assert right and right[0]["highlight"] == []
    assert wrong[0]["header"][1] == "your layer" and wrong[0]["header"][4] == "expected layer"
