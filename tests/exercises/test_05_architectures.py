"""The 05_architectures suite grades typical wrong submissions exactly and correct ones fully.

Each file under tests/submissions/05_architectures/ is graded once through the real engine
(sandboxed worker, the suite with its hidden tests, the grader's own training of the LeNet
on the CPU profile). A wrong submission must lose exactly the points of the checks its
mistake breaks, and each failed check's message must name the mistake; correct submissions
written differently from the solution get full marks.

The gradings share one trusted cache folder (GRADER_CACHE_DIR, as ``grader grade`` sets it):
submissions whose LeNet is the solution's (the steps and choices mistakes) reuse its training
instead of training the same architecture again; every other architecture is trained.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import tempfile
import warnings

import pytest

from grader.course.release import public_suite
from tests.exercises.common import ROOT, SlowExerciseContract, course, grader_of

SUBMISSIONS = ROOT / "tests" / "submissions" / "05_architectures"
ASSIGNMENT = "05_architectures"
MAX_SCORE = 13.0
SLOT = 31  # this module's own sandbox slot (ExerciseContract.SLOT, tests/exercises/common.py)
ALL_TESTS = {
    "test_steps_per_epoch_lesson", "test_steps_per_epoch_random",
    "test_third_pair_choices_lesson", "test_third_pair_choices_random",
    "test_build_lenet_layers", "test_build_lenet_activations", "test_build_lenet_compile",
    "test_build_lenet_other_sizes", "test_build_lenet_trains",
}

_grade = grader_of(ASSIGNMENT, slot=SLOT)
_CACHE = tempfile.TemporaryDirectory(prefix="grader-05-cache-")  # removed when the module is unloaded


def graded(path):
    """The file graded once (cached per path), with this module's trusted cache folder."""
    old = os.environ.get("GRADER_CACHE_DIR")
    os.environ["GRADER_CACHE_DIR"] = _CACHE.name
    try:
        return _grade(path)
    finally:
        if old is None:
            os.environ.pop("GRADER_CACHE_DIR", None)
        else:
            os.environ["GRADER_CACHE_DIR"] = old


# submission -> (score, {failed test: words its message must contain})
WRONG = {
    "wrong_steps_floor.py": (10, {
        "test_steps_per_epoch_lesson": ["steps_per_epoch(1000, 64): 15 is not right", "rounded down"],
        "test_steps_per_epoch_random": ["rounded down"],
    }),
    "wrong_steps_off_by_one.py": (10, {
        "test_steps_per_epoch_lesson": ["steps_per_epoch(60000, 32): 1876 is not right", "added 1",
                                        "exact multiple"],
        "test_steps_per_epoch_random": ["added 1"],
    }),
    "wrong_choices_no_pooling_check.py": (11, {
        "test_third_pair_choices_lesson": ["you list kernel size 4", "leaves 1x1", "after the pooling"],
        "test_third_pair_choices_random": ["after the pooling"],
    }),
    "wrong_lenet_same_padding.py": (9, {
        "test_build_lenet_layers": ["padding='same', expected padding='valid'",
                                    "output shape (28, 28, 6), expected (24, 24, 6)"],
        "test_build_lenet_other_sizes": ["padding='same'"],
    }),
    "wrong_lenet_no_softmax.py": (9, {
        "test_build_lenet_activations": ["activation 'linear', expected 'softmax'", "logits"],
        "test_build_lenet_compile": ["outputs logits", "expects probabilities"],
        "test_build_lenet_trains": ["validation images correctly; at least 85% is expected",
                                    "Likely cause: the last layer outputs logits"],
    }),
    "wrong_lenet_sigmoid_sgd.py": (9, {
        "test_build_lenet_activations": ["activation 'sigmoid', expected 'relu'", "saturates",
                                         "activation 'sigmoid', expected 'softmax'"],
        "test_build_lenet_compile": ["optimizer: expected 'adam', found 'sgd'"],
        "test_build_lenet_trains": ["at least 85% is expected", "optimizer: expected 'adam'"],
    }),
    "wrong_lenet_fixed_sizes.py": (12, {
        "test_build_lenet_other_sizes": ["build_lenet(conv_filters=(8, 32), dense_units=(64, 32))",
                                         "filters=6, expected filters=8", "written into the code"],
    }),
}
# Graded only with GRADER_ALL_SUBMISSIONS=1 (ExerciseContract.wrong(); each grading is a worker
# start and, for a new architecture, a training run); the set above already fails every check
# at least once.
EXTRA = {
    "wrong_steps_fraction.py": (10, {
        "test_steps_per_epoch_lesson": ["steps_per_epoch(1000, 64): found 15.625, a fraction",
                                        "round it up"],
        "test_steps_per_epoch_random": ["a fraction"],
    }),
    "wrong_choices_conv_shape.py": (11, {
        "test_third_pair_choices_lesson": ["for kernel size 1 the output shape (4, 4, 64) is not right",
                                           "the convolution's output"],
        "test_third_pair_choices_random": ["expected (", "the convolution's output"],
    }),
    "wrong_choices_odd_kernels.py": (11, {
        "test_third_pair_choices_lesson": ["kernel sizes that fit are missing", "1x1 convolution",
                                           "even kernel sizes"],
        "test_third_pair_choices_random": ["kernel sizes that fit are missing", "even kernel sizes"],
    }),
    "wrong_lenet_two_dense.py": (9, {
        "test_build_lenet_layers": ["units=10, expected units=84", "a Dense layer is missing",
                                    "34,622 parameters, expected 44,426"],
        "test_build_lenet_other_sizes": ["units=10, expected units=32"],
    }),
}

CORRECT = ["correct_functional.py", "correct_numpy_add.py"]


def load_module(name: str, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # the suite's markers are registered by the grader's plugin
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        spec.loader.exec_module(module)
    return module


def suite():
    return load_module("suite_05_architectures", course().assignment(ASSIGNMENT).suite)


class TestContract(SlowExerciseContract):
    """The exercises' contract (tests/exercises/common.py) on this module's submissions."""

    ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS = ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS
    WRONG, EXTRA, CORRECT, SLOT, graded = WRONG, EXTRA, CORRECT, SLOT, staticmethod(graded)


def test_profiles_have_what_the_suite_reads():
    for device in ("cpu", "gpu"):
        profile = course().profile(course().assignment(ASSIGNMENT), device)
        assert {"train_samples", "val_samples", "epochs", "batch_size", "val_accuracy"} <= set(profile)
    manual = {q.name for q in course().assignment(ASSIGNMENT).manual}
    assert manual == {"progress_bar_steps", "batch_size_100", "last_epoch_validation",
                      "relu_vs_sigmoid", "dense_overfitting"}


def test_public_suite_ships_no_hidden_check_nor_the_reference_model():
    spec = course().assignment(ASSIGNMENT)
    public = public_suite(spec.suite.read_text("utf-8"))
    assert "_random" not in public and "test_build_lenet_trains" not in public
    assert "test_build_lenet_other_sizes" not in public and "test_steps_per_epoch_lesson" in public
    shipped = {p.name for p in (ROOT / "assignments" / ASSIGNMENT / "tests").iterdir()}
    assert shipped == {"test_05_architectures.py", "lenet_budget.py"}  # hidden_calibrate.py stays here


def test_expected_values_agree_with_the_lessons_arithmetic():
    """The suite takes its answers from Keras and tf.data; they must be the lesson's arithmetic."""
    pytest.importorskip("keras")
    s = suite()
    for n, b in [(60000, 32), (60000, 100), (1000, 64), (1000, 300), (5, 64), (7, 7), (9, 1), (64, 32)]:
        assert s.right_steps(n, b) == math.ceil(n / b)
    for size in range(1, 13):
        for k in range(1, size + 1):
            side = (size - k + 1) // 2
            assert s.keras_pair(size, k, 7) == ((side, side, 7) if side >= 1 else None), (size, k)
    assert [k for k, _ in s.right_choices(4, 64)] == [1, 2, 3]  # a 4x4 kernel leaves 1x1, pooled to nothing
    assert s.keras_pair(4, 5, 64) is None  # a 5x5 filter no longer fits at 4x4


def test_lenet_specification_is_what_keras_builds():
    """lenet_spec's shapes and parameter counts (arithmetic) against models Keras builds."""
    keras = pytest.importorskip("keras")
    from grader.checks import compare_layers

    s = suite()
    sys.path.insert(0, str(ROOT / "solutions" / ASSIGNMENT))
    try:
        calibrate = load_module("hidden_calibrate_05", ROOT / "solutions" / ASSIGNMENT / "hidden_calibrate.py")
    finally:
        sys.path.remove(str(ROOT / "solutions" / ASSIGNMENT))
    reference = calibrate.variant("reference")
    assert reference.count_params() == 44426
    report = compare_layers(reference, s.EXPECTED_LAYERS, input_shape=s.INPUT_SHAPE)
    assert report.ok, report.message()
    assert compare_layers(calibrate.variant("functional"), s.EXPECTED_LAYERS).ok
    # the one-mistake variants calibrated against are ones the suite also names
    for name in ("no_softmax", "sigmoid_sgd", "same_padding"):
        assert not compare_layers(calibrate.variant(name), s.EXPECTED_LAYERS).ok, name
    layers = keras.layers
    for kwargs in s.OTHER_SIZES:
        (f1, f2), (u1, u2) = kwargs["conv_filters"], kwargs["dense_units"]
        model = keras.Sequential([
            keras.Input((28, 28, 1)), layers.Conv2D(f1, 5, activation="relu"), layers.MaxPooling2D(),
            layers.Conv2D(f2, 5, activation="relu"), layers.MaxPooling2D(), layers.Flatten(),
            layers.Dense(u1, activation="relu"), layers.Dense(u2, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
        report = compare_layers(model, s.lenet_spec(**kwargs), input_shape=s.INPUT_SHAPE)
        assert report.ok, report.message()
