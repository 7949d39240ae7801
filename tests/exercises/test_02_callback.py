"""The 02_callback suite grades typical wrong submissions exactly and correct ones fully.

Each file under tests/submissions/02_callback/ is graded once through the real engine
(sandboxed worker, the suite with its hidden tests, train_mnist run on the CPU profile's
MNIST subset). A wrong submission must lose exactly the points of the checks its mistake
breaks, and each failed check's message must name the mistake; correct submissions written
differently from the solution get full marks.
"""

from __future__ import annotations

from tests.exercises.common import ROOT, SlowExerciseContract, course, grader_of

SUBMISSIONS = ROOT / "tests" / "submissions" / "02_callback"
ASSIGNMENT = "02_callback"
MAX_SCORE = 13.0
SLOT = 22  # this module's own sandbox slot (ExerciseContract.SLOT, tests/exercises/common.py)
ALL_TESTS = {
    "test_callback_is_a_keras_callback", "test_callback_default_threshold",
    "test_callback_other_thresholds", "test_callback_without_accuracy",
    "test_callback_keras2_acc_key", "test_callback_message", "test_train_mnist_history",
    "test_train_mnist_uses_callback", "test_train_mnist_model_agrees",
}


graded = grader_of(ASSIGNMENT, slot=SLOT)


# submission -> (score, {failed test: words its message must contain})
WRONG = {
    "wrong_strict_greater.py": (9, {
        "test_callback_default_threshold": ["'>' instead of '>='", "accuracy': 0.99}"],
        "test_callback_other_thresholds": ["'>' instead of '>='", "AccuracyThresholdCallback(0.9)"],
    }),
    "wrong_hardcoded_threshold.py": (10, {
        "test_callback_other_thresholds": ["threshold passed to __init__ is ignored"],
        "test_callback_message": ["Reached 90% accuracy so cancelling training!",
                                  "must follow the threshold"],
    }),
    "wrong_acc_key.py": (2, {
        "test_callback_default_threshold": ["logs['acc']", "Keras 2"],
        "test_callback_other_thresholds": ["logs['acc']"],
        "test_callback_without_accuracy": ["does not stop training"],
        "test_callback_keras2_acc_key": ["reads 'acc', the Keras 2 name"],
        "test_callback_message": ["Nothing was printed"],
        "test_train_mnist_history": ["went on to epoch 10"],
        "test_train_mnist_uses_callback": ["callbacks=[AccuracyThresholdCallback()]"],
    }),
    "wrong_no_logs_guard.py": (11, {
        "test_callback_without_accuracy": ["logs=None", "raised TypeError", "(line 12: accuracy = logs[",
                                           "logs.get('accuracy')"],
        "test_callback_keras2_acc_key": ["raised KeyError", "Keras 2"],
    }),
    "wrong_no_normalization.py": (9, {
        "test_train_mnist_history": ["the training accuracy is", "divide x_train by 255.0"],
        "test_train_mnist_uses_callback": ["did not print"],
    }),
    "wrong_keras2_compile.py": (8, {
        "test_train_mnist_history": ["not a valid dtype", "pass metrics=['accuracy'] by keyword"],
        "test_train_mnist_uses_callback": ["by keyword"],
        "test_train_mnist_model_agrees": ["by keyword"],
    }),
    # a forged History counts for none of the train_mnist checks (issue 12.6): every one of them
    # needs the History's model to back it on MNIST test images the worker never saw
    "wrong_fake_history.py": (8, {
        test: ["reports a final training accuracy of 0.9950", "test images your code never saw",
               "Return the History"]
        for test in ("test_train_mnist_history", "test_train_mnist_uses_callback", "test_train_mnist_model_agrees")
    }),
    # the lookup table is right on the images it was given (0.976 of them: within the old 0.03
    # margin of 0.995), a nearest-neighbour classifier on the test images (0.94)
    "wrong_lookup_history.py": (8, {
        test: ["reports a final training accuracy of 0.9950", "classifies only 0.8", "Return the History"]
        for test in ("test_train_mnist_history", "test_train_mnist_uses_callback", "test_train_mnist_model_agrees")
    }),
}
# Graded only with GRADER_ALL_SUBMISSIONS=1 (ExerciseContract.wrong(); each runs train_mnist
# in the worker; the set above already covers every check): more mistakes, exact points as well.
EXTRA = {
    "wrong_self_stop_training.py": (4, {
        "test_callback_default_threshold": ["self.stop_training", "self.model.stop_training = True"],
        "test_callback_other_thresholds": ["self.model.stop_training = True"],
        "test_callback_without_accuracy": ["does not stop training"],
        "test_callback_keras2_acc_key": ["does not stop training"],
        "test_train_mnist_history": ["reached 0.99 at epoch", "went on to epoch 10",
                                     "self.model.stop_training = True"],
    }),
    "wrong_message_fraction.py": (12, {
        "test_callback_message": ["Reached 0.99% accuracy", "print it as a percentage"],
    }),
    "wrong_epochs_20.py": (10, {
        "test_train_mnist_history": ["asked for 20 epochs; at most 10"],
    }),
}

CORRECT = ["correct_rescaling_layer.py", "correct_getattr_style.py"]


class TestContract(SlowExerciseContract):
    """The exercises' contract (tests/exercises/common.py) on this module's submissions."""

    ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS = ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS
    WRONG, EXTRA, CORRECT, SLOT, graded = WRONG, EXTRA, CORRECT, SLOT, staticmethod(graded)


def test_profiles_have_what_the_suite_reads():
    for device in ("cpu", "gpu"):
        profile = course().profile(course().assignment(ASSIGNMENT), device)
        assert {"train_samples", "max_epochs", "target_accuracy", "heldout_samples", "heldout_margin"} <= set(profile)
        assert profile["max_epochs"] == 10 and profile["target_accuracy"] == 0.99
    assert course().profile(course().assignment(ASSIGNMENT), "gpu")["train_samples"] == 60000
