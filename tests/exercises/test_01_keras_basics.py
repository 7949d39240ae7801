"""The 01_keras_basics suite grades typical wrong submissions exactly and correct ones fully.

Each file under tests/submissions/01_keras_basics/ is graded through the real engine
(sandboxed worker, the suite with its hidden tests). A wrong submission must lose exactly
the points of the checks its mistake breaks, and each failed check's message must name
the mistake when the check's inputs confirm it, and never one the submission did not make
(NOT_NAMED); correct submissions written differently from the solution get full marks.
"""

from __future__ import annotations

import nbformat

from grader.engine.grading import grade_file
from tests.exercises.common import (
    ROOT,
    ExerciseContract,
    NotNamedContract,
    course,
    failed_tests,
    grader_of,
)

SUBMISSIONS = ROOT / "tests" / "submissions" / "01_keras_basics"
ASSIGNMENT = "01_keras_basics"
MAX_SCORE = 18.0
ALL_TESTS = {
    "test_predicted_labels_small", "test_predicted_labels_random", "test_accuracy_small",
    "test_accuracy_random", "test_dense_param_count_logistic", "test_dense_param_count_random",
    "test_conv2d_param_count_lesson", "test_conv2d_param_count_random", "test_conv_output_size_mnist",
    "test_conv_output_size_random", "test_pool_output_size_examples", "test_pool_output_size_random",
    "test_logistic_regression_weights", "test_two_layer_weights", "test_first_conv_weights",
    "test_conv_model_weights", "test_second_conv_weights", "test_flattened_features",
}


graded = grader_of(ASSIGNMENT)


# submission -> (score, {failed test: words its message must contain})
WRONG = {
    "wrong_percentage.py": (16, {
        "test_accuracy_small": ["percentage", "found 75"],
        "test_accuracy_random": ["percentage"],
    }),
    "wrong_error_rate.py": (16, {
        "test_accuracy_small": ["error rate", "found 0.25"],
        "test_accuracy_random": ["error rate"],
    }),
    "wrong_argmax_axis0.py": (16, {
        "test_predicted_labels_small": ["axis=0", "axis=1", "expected shape (4,), found (3,)"],
        "test_predicted_labels_random": ["axis=0"],
    }),
    "wrong_float_labels.py": (17, {
        "test_predicted_labels_small": ["dtype is float64", "integers"],
    }),
    "wrong_no_biases.py": (9, {
        "test_dense_param_count_logistic": ["dense_param_count(784, 10): 7840 is not right", "bias"],
        "test_dense_param_count_random": ["bias"],
        "test_conv2d_param_count_lesson": ["conv2d_param_count(1, 8, 5): 200 is not right", "biases"],
        "test_conv2d_param_count_random": ["biases"],
        "test_logistic_regression_weights": ["bias"],
        "test_two_layer_weights": ["biases"],
        "test_first_conv_weights": ["biases"],
        "test_conv_model_weights": ["biases"],
        "test_second_conv_weights": ["biases"],
    }),
    "wrong_same_padding.py": (14, {
        "test_conv_output_size_mnist": ["conv_output_size(28, 5): 28 is not right", "padding='same'"],
        "test_conv_output_size_random": ["padding='same'"],
        "test_conv_model_weights": ["24x24"],
        "test_flattened_features": ["FLATTENED_FEATURES: 3136 is not right", "28 -> 26 -> 13 -> 11 -> 5"],
    }),
    "wrong_pool_ceil.py": (15, {
        "test_pool_output_size_examples": ["pool_output_size(13): 7 is not right", "rounded up"],
        "test_pool_output_size_random": ["rounded up"],
        "test_flattened_features": ["FLATTENED_FEATURES: 2304 is not right", "rounds down"],
    }),
    "wrong_ignores_channels.py": (15, {
        "test_conv2d_param_count_lesson": ["conv2d_param_count(8, 16, 5): 416 is not right", "EVERY one of the input channels"],
        "test_conv2d_param_count_random": ["input channels"],
        "test_second_conv_weights": ["in_channels"],
    }),
    # public cases hard-coded: every public check passes, every hidden one fails
    "wrong_hardcoded.py": (12, {
        "test_predicted_labels_random": ["labels are wrong"],
        "test_accuracy_random": ["expected"],
        "test_dense_param_count_random": ["found 0"],
        "test_conv2d_param_count_random": ["found 0"],
        "test_conv_output_size_random": ["found 0"],
        "test_pool_output_size_random": ["found 0"],
    }),
    # a notebook: percentage accuracy, and FIRST_CONV_WEIGHTS in a re-created cell that
    # lost its tag and marker (found by name), without biases
    "wrong_percentage_untagged.ipynb": (15, {
        "test_accuracy_small": ["percentage"],
        "test_accuracy_random": ["percentage"],
        "test_first_conv_weights": ["FIRST_CONV_WEIGHTS: 200 is not right", "biases"],
    }),
    # mistakes the first catalogue did not have, where it named another one (below: what
    # each message must not say)
    # on the first public input its 0.25 is also the error rate, which the first catalogue named
    "wrong_accuracy_argmax_labels.py": (16, {
        "test_accuracy_small": ["expected 0.75, found 0.25", "np.argmax of the labels"],
        "test_accuracy_random": ["np.argmax of the labels"],
    }),
    "wrong_accuracy_argmax_no_axis.py": (16, {
        "test_accuracy_small": ["expected 0.75, found 0.5", "np.argmax without axis="],
        "test_accuracy_random": ["np.argmax without axis="],
    }),
    "wrong_pool_round.py": (16, {
        "test_pool_output_size_random": ["to the nearest whole number"],
        "test_flattened_features": ["FLATTENED_FEATURES: 2304 is not right", "rounds down"],
    }),
    "wrong_conv_output_even_kernel.py": (17, {
        "test_conv_output_size_random": ["conv_output_size(", "expected", "found"],
    }),
}

# submission -> {failed test: words its message must NOT contain}: a mistake the
# submission did not make is never named (it agrees with another on some inputs only)
NOT_NAMED = {
    "wrong_accuracy_argmax_no_axis.py": {
        "test_accuracy_small": ["argmax of the labels", "error rate", "percentage"],
        "test_accuracy_random": ["argmax of the labels", "error rate", "percentage"],
    },
    "wrong_pool_round.py": {"test_pool_output_size_random": ["you rounded up"]},
    "wrong_conv_output_even_kernel.py": {"test_conv_output_size_random": ["Likely mistake"]},
    "wrong_error_rate.py": {"test_accuracy_small": ["argmax of the labels"]},
    "wrong_accuracy_argmax_labels.py": {"test_accuracy_small": ["error rate"], "test_accuracy_random": ["error rate"]},
}

CORRECT = ["correct_loops.py", "correct_vectorized.py"]


class TestContract(NotNamedContract, ExerciseContract):
    """The exercises' contract (tests/exercises/common.py) on this module's submissions, with
    NOT_NAMED; the solution's answers to the explanation questions are collected."""

    ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS = ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS
    WRONG, CORRECT, NOT_NAMED, graded = WRONG, CORRECT, NOT_NAMED, staticmethod(graded)

    def check_solution(self, result):
        assert [q["name"] for q in result.manual] == [
            "untrained_accuracy", "random_probabilities", "parameter_counts", "overfitting"]
        assert all(q["answer"] for q in result.manual)
        assert result.pending_points == 4


def test_every_explanation_question_is_asked_and_answered_in_the_notebook():
    spec = course().assignment(ASSIGNMENT)
    nb = nbformat.read(spec.notebook, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for question in spec.manual:
        assert any(question.prompt in text for text in markdown), question.name
        assert any(text.startswith(f"<!-- ANSWER: {question.name} -->") for text in markdown), question.name


def test_answers_of_a_student_notebook_are_collected_as_pending():
    result = graded(SUBMISSIONS / "wrong_percentage_untagged.ipynb")
    answers = {q["name"]: q["answer"] for q in result.manual}
    assert answers == {
        "untrained_accuracy": "The weights are random, so it guesses: 1 in 10.",
        "random_probabilities": "", "parameter_counts": "", "overfitting": "",
    }
    assert result.pending_points == 4


def test_public_checks_do_not_give_the_weight_counts_away(tmp_path):
    """`grader check` shows public messages before submission: with every weight-count
    constant set to 1, it says why each is wrong but never prints the expected count."""
    import subprocess
    import sys

    source = (SUBMISSIONS / "correct_vectorized.py").read_text()
    answers = {"LOGISTIC_REGRESSION_WEIGHTS": 7850, "TWO_LAYER_WEIGHTS": 101770, "FIRST_CONV_WEIGHTS": 208,
               "CONV_MODEL_WEIGHTS": 46298, "SECOND_CONV_WEIGHTS": 3216, "FLATTENED_FEATURES": 1600}
    for name, value in answers.items():
        assert f"{name} = {value}\n" in source
        source = source.replace(f"{name} = {value}\n", f"{name} = 1\n")
    sub = tmp_path / "ones_01_keras_basics.py"
    sub.write_text(source)
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "--config", str(ROOT / "autograder.toml"), "check",
                           str(sub), "--assignment", ASSIGNMENT], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for name in answers:
        assert f"{name}: 1 is not right." in proc.stdout
    shown = proc.stdout + proc.stderr
    for value in answers.values():
        assert str(value) not in shown, (value, shown)


def test_an_infinite_loop_costs_only_its_own_checks(tmp_path):
    """accuracy() loops forever, everything else is right, 20 s time limit: accuracy's two
    checks are cut at their budget (a quarter of the limit each) and fail; the other
    checks run on fresh starts of the code: 16/18, status ok, the cut checks named."""
    source = (SUBMISSIONS / "correct_vectorized.py").read_text()
    head = "def accuracy(probabilities, labels):\n"
    assert head in source
    sub = tmp_path / "loop_accuracy.py"
    sub.write_text(source.replace(head, head + "    while True:\n        pass\n", 1))
    result = grade_file(sub, assignment=ASSIGNMENT, course=course(), device="cpu", limits={"timeout": 20})
    assert (result.status, result.score, result.max_score) == ("ok", 16.0, MAX_SCORE), result.message
    failures = failed_tests(result)
    assert set(failures) == {"test_accuracy_small", "test_accuracy_random"}
    assert "ran longer than the 5 s this check may take" in failures["test_accuracy_small"]
    assert "Checks stopped before they ended: accuracy" in result.message
