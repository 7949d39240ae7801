"""The 07_cnn_journey suite grades typical wrong submissions exactly and correct ones fully.

Each file under tests/submissions/07_cnn_journey/ is graded once through the real engine
(sandboxed worker, the suite with its hidden checks, the grader's CNN trained in the worker
with the submission's callback on the CPU profile's budget). To keep the module short, each
wrong submission carries two independent mistakes, one in ``myCallback`` and one in
``layer_outputs``: it must lose exactly the points of the checks they break, and each
failed check's message must name its mistake. Correct submissions written differently from
the solution get full marks.
"""

from __future__ import annotations

import base64
import importlib.util

import numpy as np
import pytest

from tests.exercises.common import ROOT, SlowExerciseContract, course, grader_of

SUBMISSIONS = ROOT / "tests" / "submissions" / "07_cnn_journey"
ASSIGNMENT = "07_cnn_journey"
MAX_SCORE = 16.0
SLOT = 37  # this module's own sandbox slot (ExerciseContract.SLOT, tests/exercises/common.py)
ALL_TESTS = {
    "test_callback_is_a_keras_callback", "test_callback_stops_above_998", "test_callback_not_at_998",
    "test_callback_without_accuracy", "test_callback_keras2_acc_key", "test_callback_message",
    "test_callback_stops_cnn_training", "test_layer_outputs_shapes", "test_layer_outputs_values",
    "test_layer_outputs_other_model", "test_layer_outputs_one_layer_model", "test_layer_outputs_unbuilt_model",
}
LAYER_CHECKS = ("test_layer_outputs_shapes", "test_layer_outputs_values", "test_layer_outputs_other_model",
                "test_layer_outputs_unbuilt_model", "test_layer_outputs_one_layer_model")
UNBUILT = ["has never been built", "no defined inputs", "model(images[:1])"]

graded = grader_of(ASSIGNMENT, slot=SLOT)

# submission -> (score, {failed test: words its message must contain})
WRONG = {
    # 0.99 (the 99% exercise's threshold); model.layers[:4] (the lesson's first four layers),
    # and model.inputs on an unbuilt model
    "wrong_threshold_099_first_four_layers.py": (8, {
        "test_callback_stops_above_998": ["0.995 is not above 0.998", "threshold of the 99% exercise"],
        "test_callback_not_at_998": ["and so does 0.9979", "threshold is below 0.998"],
        "test_callback_stops_cnn_training": ["stopped after epoch 7, at accuracy 0.9922",
                                             "threshold 0.99 of the 99% exercise"],
        "test_layer_outputs_other_model": ["the first 4 layers of the model", "isinstance(layer"],
        "test_layer_outputs_unbuilt_model": UNBUILT,
        # the one-convolution model has only 3 layers: its first four are all of them
        "test_layer_outputs_one_layer_model": ["Flatten and Dense included"],
    }),
    # '>=': only the probe at exactly 0.998 can tell; every layer's output (the lesson's
    # activation model as it is)
    "wrong_greater_equal_all_layers.py": (8, {
        "test_callback_not_at_998": ["logs={'loss': 0.01, 'accuracy': 0.998}) stopped training",
                                     "'>=' instead of '>'"],
        **{test: ["Flatten and Dense included"] for test in LAYER_CHECKS[:3]},
        "test_layer_outputs_unbuilt_model": UNBUILT,
        "test_layer_outputs_one_layer_model": ["Flatten and Dense included"],
    }),
    "wrong_acc_key_unbuilt_model.py": (6, {
        "test_callback_stops_above_998": ["logs['acc'], the Keras 2 name"],
        "test_callback_not_at_998": ["did not stop training, so there is nothing to check"],
        "test_callback_without_accuracy": ["logs=None) raised AttributeError", "(line 12: if logs.get(\"acc\""],
        "test_callback_keras2_acc_key": ["reads 'acc', the Keras 2 name"],
        "test_callback_message": ["Nothing was printed"],
        "test_callback_stops_cnn_training": ["after epoch 9, above 0.998, but training went on to epoch 20"],
        "test_layer_outputs_unbuilt_model": UNBUILT,
        "test_layer_outputs_one_layer_model": ["returned 5 array(s) of shapes [(26, 26, 4), (26, 26, 4),",
                                               "split into one array per image", "[output]"],
    }),
    "wrong_self_stop_scaled_again.py": (4, {
        "test_callback_stops_above_998": ["self.stop_training", "self.model.stop_training = True"],
        "test_callback_not_at_998": ["nothing to check"],
        "test_callback_without_accuracy": ["does not stop training"],
        "test_callback_keras2_acc_key": ["does not stop training"],
        "test_callback_stops_cnn_training": ["went on to epoch 20"],
        **{test: ["the shapes are right but the values", "scaled again"] for test in LAYER_CHECKS[1:]},
    }),
    # the lesson's Keras 2 code: logs.get('accuracy') > 0.998 crashes without an accuracy;
    # only the convolutions' outputs (right for the one-convolution model, which has no pooling)
    "wrong_no_logs_guard_no_pooling.py": (8, {
        "test_callback_without_accuracy": ["raised AttributeError", "logs.get('accuracy')"],
        "test_callback_keras2_acc_key": ["raised TypeError", "Keras 2"],
        **{test: ["the MaxPooling2D layers' outputs are missing"] for test in LAYER_CHECKS[:4]},
    }),
    # (one layer in reverse order is the right list)
    "wrong_message_99_reversed_order.py": (9, {
        "test_callback_message": ["it printed 'Reached 99% accuracy so cancelling training!'",
                                  "message of the 99% exercise"],
        **{test: ["in reverse order"] for test in LAYER_CHECKS[:4]},
    }),
}
# Graded only with GRADER_ALL_SUBMISSIONS=1 (ExerciseContract.wrong(); the set above already
# covers every check).
EXTRA = {
    "wrong_last_layer_only.py": (9, {
        **{test: ["returned one array of shape", "not a list", "only the output of the last"]
           for test in LAYER_CHECKS[:4]},
        "test_layer_outputs_one_layer_model": ["returned one array of shape (5, 26, 26, 4)", "not as a list of one",
                                               "[output]"],
    }),
}

CORRECT = ["correct_layer_by_layer.py", "correct_build_first.py"]


def budget_module():
    path = ROOT / "solutions" / ASSIGNMENT / "journey_budget.py"
    spec = importlib.util.spec_from_file_location("journey_budget_07", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestContract(SlowExerciseContract):
    """The exercises' contract (tests/exercises/common.py) on this module's submissions, at
    least six of them wrong by default and two correct."""

    ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS = ASSIGNMENT, SUBMISSIONS, MAX_SCORE, ALL_TESTS
    WRONG, EXTRA, CORRECT, SLOT, graded = WRONG, EXTRA, CORRECT, SLOT, staticmethod(graded)

    def check_coverage(self):
        assert len(set(WRONG) - set(EXTRA)) >= 6 and len(CORRECT) >= 2


def test_profiles_have_what_the_suite_reads():
    for device in ("cpu", "gpu"):
        profile = course().profile(course().assignment(ASSIGNMENT), device)
        assert {"stop_samples", "stop_max_epochs", "stop_batch_size"} <= set(profile)
        # a subset size whose accuracies include none equal to 0.998 (k / n == 0.998 would make
        # '>' and '>=' differ in training by chance, not by the callback)
        assert all(k / profile["stop_samples"] != 0.998 for k in range(profile["stop_samples"] + 1))
    cpu = course().profile(course().assignment(ASSIGNMENT), "cpu")
    reference = cpu["reference_accuracy"]
    assert reference[-1] > 0.998 and all(a <= 0.998 for a in reference[:-1])
    assert len(reference) < cpu["stop_max_epochs"]


def test_the_unbuilt_copy_computes_what_the_model_does():
    """The hidden check's model (no Input, never called) holds the grader's weights: once a
    submission builds it, its layers compute the trusted side's expected outputs."""
    pytest.importorskip("keras")
    budget = budget_module()
    images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    for name, count in (("lesson", 4), ("other", 5)):
        model = budget.journey_model(name, 7)
        expected = budget.expected_layer_outputs(model, images)
        assert len(expected) == count
        assert [layer.name for layer in budget.journey_layers(model)][:2] == (
            ["conv2d", "max_pooling2d"] if name == "lesson" else ["conv2d", "conv2d_1"])
        unbuilt = budget.model_from_description(budget.describe(model), built=False)
        assert not unbuilt.built
        with pytest.raises(AttributeError):
            unbuilt.inputs  # noqa: B018 - the Keras 3 behaviour the check is about
        unbuilt(images[:1])
        again = budget.expected_layer_outputs(unbuilt, images)
        assert [a.shape for a in again] == [e.shape for e in expected]
        for a, e in zip(again, expected, strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
        # the images given to the grader's models are not all alike: values tell layers apart
        assert not np.allclose(expected[0][0], expected[0][1])


def maps_item(result) -> dict:
    items = [i for i in result.feedback if i["test"] == "test_layer_outputs_values" and i["kind"] == "png"]
    assert len(items) == 1, result.feedback
    return items[0]


@pytest.mark.slow
def test_feedback_shows_activation_maps_next_to_the_expected():
    """The values check always draws filter 1's maps for the three images, yours | expected |
    difference, and the callback's training check its accuracy curve."""
    right = graded(SUBMISSIONS / "correct_layer_by_layer.py")
    wrong = graded(SUBMISSIONS / "wrong_message_99_reversed_order.py")
    for result in (right, wrong):
        item = maps_item(result)
        assert "filter 1 of each layer's output, one image per row" in item["title"]
        assert "conv2d, max_pooling2d, conv2d_1, max_pooling2d_1" in item["title"]
        assert base64.b64decode(item["png"]).startswith(b"\x89PNG")
    assert len(base64.b64decode(maps_item(wrong)["png"])) > 10_000  # three panels of maps, not an empty figure
    curves = [i for i in right.feedback if i["test"] == "test_callback_stops_cnn_training"]
    assert [i["kind"] for i in curves] == ["png"]
