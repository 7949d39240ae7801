"""Grading suite of the engine's demo_model assignment: a function, a tiny Keras model, a constant.

Small on purpose (no training): it gives the hostile corpus (tests/hostile/) something
TensorFlow-shaped to attack. Every expected value is computed here, on the trusted side;
the model is judged from its config and weight shapes, and once rebuilt by the engine
(Keras safe mode) and run here on a few rows.
"""

import numpy as np
import pytest

from grader.checks import expect, expect_array, expect_close, expect_equal

EXPECTED_LAYERS = [("Dense", "relu"), ("Dense", "softmax")]


def _layers(config: dict) -> list[dict]:
    layers = (config.get("config") or {}).get("layers") if isinstance(config, dict) else None
    expect(isinstance(layers, list), "make_model(...) must return a keras.Sequential model")
    return [layer for layer in layers if layer.get("class_name") != "InputLayer"]


def _show_returned(feedback, what: str, found) -> None:
    """Show the student what their function returned when it is not an array at all."""
    if not isinstance(found, np.ndarray):
        feedback.text(f"what {what} returned", repr(found)[:100_000])


@pytest.mark.points(1)
@pytest.mark.target("scale")
def test_scale(submission, feedback):
    """scale: divides by the largest absolute value"""
    x = np.array([[1.0, -4.0], [2.0, 0.5]])
    found = submission.call("scale", x)
    _show_returned(feedback, "scale(x)", found)
    expect_array(found, x / 4.0, what="scale(x)", mistakes=[(x / 2.0, "divide by the largest *absolute* value")])


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("scale")
def test_scale_random(submission, rng):
    """scale: a random matrix"""
    x = rng.normal(size=(5, 3))
    expect_array(submission.call("scale", x), x / np.abs(x).max(), what="scale(x)")


@pytest.mark.points(1)
@pytest.mark.target("predict_labels")
def test_predict_labels(submission, rng):
    """predict_labels: the most probable class of each row"""
    probs = rng.dirichlet(np.ones(3), size=6)
    expect_array(submission.call("predict_labels", probs), probs.argmax(axis=1), what="predict_labels(probs)",
                 kind="integer", mistakes=[(probs.argmax(axis=0), "take the argmax over axis=1 (classes)")])


@pytest.mark.points(2)
@pytest.mark.target("make_model")
def test_make_model_layers(submission):
    """make_model: Dense(units, relu) then Dense(3, softmax) on 4 inputs"""
    observed = submission.model("make_model", 5)
    layers = _layers(observed.config)
    found = [(layer.get("class_name"), (layer.get("config") or {}).get("activation")) for layer in layers]
    expect_equal(found, EXPECTED_LAYERS, what="the layers (type, activation)")
    expect_equal((layers[0].get("config") or {}).get("units"), 5, what="units of the first Dense layer for make_model(5)")
    shapes = [tuple(w.shape) for w in observed.weights]
    expect_equal(shapes, [(4, 5), (5,), (5, 3), (3,)], what="the weight shapes")
    expect_equal(int(sum(w.size for w in observed.weights)), 4 * 5 + 5 + 5 * 3 + 3, what="the number of weights")


@pytest.mark.points(1)
@pytest.mark.target("make_model")
def test_make_model_compiled(submission):
    """make_model: compiled with sparse_categorical_crossentropy"""
    observed = submission.model("make_model", 2)
    expect(observed.compiled, "make_model(2) returned a model that was not compiled: call model.compile(...)")
    expect_equal((observed.compile_config or {}).get("loss"), "sparse_categorical_crossentropy", what="the loss")


@pytest.mark.points(1)
@pytest.mark.target("make_model")
def test_make_model_outputs_probabilities(submission):
    """make_model: the model outputs probabilities (rebuilt and run by the grader)"""
    model = submission.model("make_model", 3).model
    out = np.asarray(model(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)))
    expect_equal(out.shape, (2, 3), what="the output shape for 2 rows")
    expect_array(out.sum(axis=1), np.ones(2), what="the sum of each row of probabilities", atol=1e-5)


@pytest.mark.points(1)
@pytest.mark.target("RATE")
def test_rate(submission):
    """RATE is 0.01"""
    value = submission.value("RATE")
    expect(value is not Ellipsis, "RATE is still `...`")
    expect_close(value, 0.01, what="RATE")
