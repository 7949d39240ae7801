"""The 06_design_challenge suite grades typical wrong submissions exactly and correct ones fully,
and gives a leaderboard entry only to a model that earned one.

Each file under tests/submissions/06_design_challenge/ is graded once through the real engine
(sandboxed worker, the suite with its hidden checks, the grader's own training on the CPU
profile). A wrong submission must lose exactly the points of the checks its mistake breaks,
each failed check's message must name the mistake (over the budget: the numbers), and only
a model within the rules that trains gets a leaderboard entry in results.json; correct
submissions written differently from the solution get full marks and an entry.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from grader.reports.leaderboard import leaderboard_rows, write_leaderboard
from grader.reports.results import gradescope
from tests.exercises.common import ROOT, SlowExerciseContract, course, grader_of

SUBMISSIONS = ROOT / "tests" / "submissions" / "06_design_challenge"
ASSIGNMENT = "06_design_challenge"
MAX_SCORE = 7.0
SLOT = 36  # this module's own sandbox slot (ExerciseContract.SLOT, tests/exercises/common.py)
ALL_TESTS = {
    "test_build_model_rules", "test_build_model_input_output", "test_build_model_trains",
    "test_build_model_accuracy_baseline", "test_build_model_accuracy_cnn",
}
TRAINING = ("test_build_model_trains", "test_build_model_accuracy_baseline", "test_build_model_accuracy_cnn")
LEADERBOARD = [("Test accuracy", "desc"), ("Parameters", "asc"), ("Training seconds", "asc")]

graded = grader_of(ASSIGNMENT, slot=SLOT)


def _all(words: list[str], *tests: str) -> dict[str, list[str]]:
    return {test: words for test in tests}


# submission -> (score, {failed test: words its message must contain})
WRONG = {
    "wrong_over_param_budget.py": (0, _all(
        ["has 243,786 parameters; this exercise allows at most 200,000", "Make the model smaller"],
        "test_build_model_rules", "test_build_model_input_output", *TRAINING)),
    "wrong_over_flop_budget.py": (0, _all(
        ["operations per example; this exercise allows at most 10,000,000", "pool (MaxPooling2D) early"],
        "test_build_model_rules", "test_build_model_input_output", *TRAINING)),
    "wrong_lambda_layer.py": (0, _all(["Lambda", "Keras' own layers only"],
                                      "test_build_model_rules", "test_build_model_input_output", *TRAINING)),
    "wrong_logits_output.py": (1, {
        "test_build_model_input_output": ["not probabilities", "activation 'linear'", "softmax"],
        **_all(["trains only a model that keeps the rules", "not probabilities"], *TRAINING),
    }),
    "wrong_input_shape.py": (1, {
        "test_build_model_input_output": ["input has shape (784,), expected (28, 28, 1)", "keras.Input(shape=(28, 28, 1))"],
        **_all(["trains only a model that keeps the rules", "(784,)"], *TRAINING),
    }),
    "wrong_diverging_learning_rate.py": (2, _all(["did not learn", "learning rate far too large"], *TRAINING)),
    "wrong_dense_only.py": (5, {
        "test_build_model_accuracy_cnn": ["test images correctly; at least", "small convolutional network"],
    }),
}
CORRECT = ["correct_uncompiled.py", "correct_batchnorm_functional.py"]


def test_profiles_have_what_the_suite_reads():
    spec = course().assignment(ASSIGNMENT)
    for device in ("cpu", "gpu"):
        profile = course().profile(spec, device)
        assert {"train_samples", "epochs", "batch_size", "max_train_seconds", "accuracy_a", "accuracy_b"} <= set(profile)
        assert profile["accuracy_a"] < profile["accuracy_b"]
    assert (spec.limits.max_params, spec.limits.max_flops) == (200_000, 10_000_000)


def _budget_module():
    sys.path.insert(0, str(ROOT / "solutions" / ASSIGNMENT))
    try:
        import design_budget
    finally:
        sys.path.remove(str(ROOT / "solutions" / ASSIGNMENT))
    return design_budget


def test_training_past_the_time_budget_is_stopped_with_a_message():
    pytest.importorskip("keras")
    import keras
    import numpy as np

    design_budget = _budget_module()
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    rng = np.random.default_rng(0)
    data = (rng.random((256, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 256),
            rng.random((10, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 10))
    with pytest.raises(design_budget.OverTime, match="past this exercise's training-time budget of 0 s"):
        design_budget.train_and_evaluate(model, None, epochs=2, batch_size=32, seed=0, data=data, max_seconds=0.0)


def test_a_model_whose_outputs_overflow_is_reported_as_not_finite():
    pytest.importorskip("keras")
    import keras
    import numpy as np

    design_budget = _budget_module()
    huge = keras.initializers.Constant(1e30)  # 784 pixels x 1e30, then 64 x that x 1e30: inf, softmax NaN
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(64, kernel_initializer=huge),
                              keras.layers.Dense(10, activation="softmax", kernel_initializer=huge)])
    rng = np.random.default_rng(0)
    data = (rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 64),
            rng.random((10, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 10))
    outcome = design_budget.train_and_evaluate(model, None, epochs=1, batch_size=32, seed=0, data=data)
    assert outcome.finite is False and outcome.accuracy == 0.0


def test_calibration_builds_the_models_of_the_submissions():
    """hidden_calibrate's variants are the models the test submissions and the solution build."""
    pytest.importorskip("keras")
    sys.path.insert(0, str(ROOT / "solutions" / ASSIGNMENT))
    try:
        spec = importlib.util.spec_from_file_location("hidden_calibrate_06", ROOT / "solutions" / ASSIGNMENT / "hidden_calibrate.py")
        calibrate = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(calibrate)
    finally:
        sys.path.remove(str(ROOT / "solutions" / ASSIGNMENT))
    for variant, file in (("batchnorm", "correct_batchnorm_functional.py"), ("uncompiled", "correct_uncompiled.py"),
                          ("dense", "wrong_dense_only.py"), ("diverging", "wrong_diverging_learning_rate.py")):
        spec = importlib.util.spec_from_file_location(f"sub_{variant}", SUBMISSIONS / file)
        submission = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(submission)
        mine, theirs = calibrate.variant(variant), submission.build_model()
        assert [type(layer).__name__ for layer in mine.layers] == [type(layer).__name__ for layer in theirs.layers]
        assert mine.count_params() == theirs.count_params(), variant
        assert mine.compiled == theirs.compiled, variant
        if mine.compiled:
            assert mine.optimizer.get_config()["learning_rate"] == theirs.optimizer.get_config()["learning_rate"]


def _entry(result) -> list[tuple[str, str]]:
    return [(e["name"], e["order"]) for e in gradescope(result).get("leaderboard", [])]


class TestContract(SlowExerciseContract):
    """The exercises' contract (tests/exercises/common.py) on this module's submissions, and a
    leaderboard entry only for a model within the rules that trained (the dense network: weak,
    but fair): each correct submission and the solution get one, a blank notebook none."""

    ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS = ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS
    WRONG, CORRECT, SLOT, graded = WRONG, CORRECT, SLOT, staticmethod(graded)

    def check_wrong(self, name, result, expected_failures):
        assert _entry(result) == (LEADERBOARD if "test_build_model_trains" not in expected_failures else [])

    def check_correct(self, name, result):
        assert _entry(result) == LEADERBOARD

    def check_solution(self, result):
        assert result.pending_points == 2
        board = {e["name"]: e["value"] for e in gradescope(result)["leaderboard"]}
        assert board["Parameters"] == 148_650
        assert course().profile(course().assignment(ASSIGNMENT), "cpu")["accuracy_b"] <= board["Test accuracy"] <= 1
        assert 0 < board["Training seconds"] <= course().profile(course().assignment(ASSIGNMENT), "cpu")["max_train_seconds"]

    def check_blank(self, result):
        assert "leaderboard" not in gradescope(result)


@pytest.mark.slow
def test_the_batch_leaderboard_ranks_the_entries_by_accuracy(tmp_path):
    names = ["wrong_dense_only.py", "wrong_over_param_budget.py", *CORRECT]
    results = [graded(SUBMISSIONS / name) for name in names]
    assert write_leaderboard(results, tmp_path, "Leaderboard: 06") is True
    header, rows = leaderboard_rows(results)
    assert header[2] == "Test accuracy (higher is better)"
    assert {row[1] for row in rows} == {"wrong_dense_only", *(n[:-3] for n in CORRECT)}  # no over-budget row
    accuracies = [float(row[2]) for row in rows]
    assert accuracies == sorted(accuracies, reverse=True)
    assert rows[-1][1] == "wrong_dense_only"
