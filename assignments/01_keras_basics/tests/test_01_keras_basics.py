# Public checks only: 6 hidden check(s) are run by the grader, not shipped.
"""Grading suite of 01_keras_basics: labels, accuracy and weight counts on MNIST models.

Every expected count or size is what Keras itself computes on layers and models built
here, on the trusted side (``count_params()``, ``compute_output_shape``), never a number
typed in. Public tests name the likely mistake and say how to recompute a count or size,
never the expected number (``reveal=False``: ``grader check`` shows them before
submission); hidden tests draw random cases (any number of classes, ties, odd sizes) so
that hard-coded answers fail.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

from grader.checks import (
    CheckFailed,
    Mistake,
    call_each,
    diagnose,
    expect,
    expect_array,
    expect_close,
    expect_equal,
    raise_if_failed,
    show,
)

# --------------------------------------------------------------------------- trusted Keras


@functools.cache
def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def keras_dense_params(n_inputs: int, units: int) -> int:
    layer = _keras().layers.Dense(units)
    layer.build((None, n_inputs))
    return int(layer.count_params())


def keras_conv2d_params(in_channels: int, filters: int, kernel_size: int) -> int:
    layer = _keras().layers.Conv2D(filters, kernel_size)
    layer.build((None, None, None, in_channels))
    return int(layer.count_params())


def keras_conv_output(size: int, kernel_size: int) -> int:
    return int(_keras().layers.Conv2D(1, kernel_size).compute_output_shape((None, size, size, 1))[1])


def keras_pool_output(size: int, pool_size: int = 2) -> int:
    return int(_keras().layers.MaxPooling2D(pool_size).compute_output_shape((None, size, size, 1))[1])


@functools.cache
def lesson_models() -> dict:
    """The lesson's models, built (not trained) here: name -> keras model."""
    keras = _keras()
    layers = keras.layers
    return {
        "logistic": keras.Sequential(
            [keras.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation="softmax")]
        ),
        "two_layer": keras.Sequential(
            [keras.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
             layers.Dense(10, activation="softmax")]
        ),
        "conv": keras.Sequential(
            [keras.Input((28, 28, 1)), layers.Conv2D(8, 5, activation="relu"), layers.Flatten(),
             layers.Dense(10, activation="softmax")]
        ),
        "two_conv": keras.Sequential(
            [keras.Input((28, 28, 1)), layers.Conv2D(8, 5, activation="relu"),
             layers.Conv2D(16, 5, activation="relu")]
        ),
        "cnn": keras.Sequential(
            [keras.Input((28, 28, 1)), layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
             layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten()]
        ),
    }


# --------------------------------------------------------------------------- helpers
#
# A likely mistake is a function of the inputs (grader.checks.Mistake): it is named only
# when it reproduces the student's results on every input of the check and is confirmed
# on a second input that separates it from the other mistakes (grader.checks.diagnose).
# Each check therefore calls the student's function on two inputs or more (call_each),
# chosen so that the mistakes differ from the right answer and from each other: rows
# fewer than classes, odd sizes, sizes where rounding up, rounding to the nearest and
# rounding down differ, several input channels.


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def right_labels(probs: np.ndarray) -> np.ndarray:
    return np.argmax(probs, axis=1)


LABEL_MISTAKES = [
    Mistake("you took the argmax down each column (axis=0), one result per class; use axis=1 to get the "
            "most probable class of each row", lambda p: np.argmax(p, axis=0)),
    Mistake("you returned the largest probability of each row; return its index (np.argmax), which is "
            "the class", lambda p: p.max(axis=1)),
    Mistake("you returned one-hot rows; return the class index of each row",
            lambda p: np.eye(p.shape[1], dtype=int)[np.argmax(p, axis=1)]),
    Mistake("np.argmax without axis= looks at the whole array flattened; use axis=1 to get one label "
            "per row", lambda p: np.argmax(p)),
    Mistake("you picked the least probable class (argmin); use np.argmax", lambda p: np.argmin(p, axis=1)),
    Mistake("classes count from 0 (the first column is class 0); don't add 1",
            lambda p: np.argmax(p, axis=1) + 1),
]


def check_labels(found, probs: np.ndarray, what: str, cases: list) -> np.ndarray:
    """``found`` must hold, for each row of ``probs``, the index of a largest probability.

    On a tie any of the tied classes is accepted (np.argmax picks the first, a loop with
    ``>=`` the last: both are the most probable class). ``cases``: every (inputs, found)
    of the check, for naming a mistake only when they confirm it.
    """
    raise_if_failed(found)
    n, c = probs.shape
    expected = right_labels(probs)
    if _is_number(found):
        named = diagnose(cases, LABEL_MISTAKES, right_labels)
        raise CheckFailed(
            f"{what}: expected an array of {n} labels (one per row), found the single number {show(found)}."
            + (f" Likely mistake: {named}" if named else "")
        )
    if not isinstance(found, np.ndarray) or found.shape != (n,) or found.dtype.kind not in "biuf":
        # raises with the right message
        expect_array(found, expected, what, mistakes=LABEL_MISTAKES, cases=cases, right=right_labels)
    allowed = probs == probs.max(axis=1, keepdims=True)
    values = found.astype(np.float64)
    bad = [
        i for i in range(n)
        if not (values[i] == np.floor(values[i]) and 0 <= values[i] < c and allowed[i, int(values[i])])
    ]
    if bad:
        i = bad[0]
        best = np.flatnonzero(allowed[i])
        best_text = str(int(best[0])) if len(best) == 1 else "one of " + ", ".join(str(int(b)) for b in best)
        message = (
            f"{what}: {len(bad)} of {n} labels are wrong; e.g. row {i} is {show(probs[i])}, whose most "
            f"probable class is {best_text}, but you returned {show(found[i])}."
        )
        named = diagnose(cases, LABEL_MISTAKES, right_labels)
        raise CheckFailed(message + (f" Likely mistake: {named}" if named else ""))
    return found


def right_accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == labels))


ACCURACY_MISTAKES = [
    Mistake("you returned a percentage; return a fraction in [0, 1] (don't multiply by 100)",
            lambda p, y: 100 * right_accuracy(p, y)),
    Mistake("you returned the error rate (the fraction of WRONG predictions); accuracy is the fraction of "
            "rows whose predicted label equals the true label", lambda p, y: 1 - right_accuracy(p, y)),
    Mistake("you returned the number of correct predictions; divide it by the number of examples",
            lambda p, y: int(np.sum(np.argmax(p, axis=1) == y))),
    Mistake("you took np.argmax of the labels as if they were one-hot rows; the labels are already class "
            "indices: compare them with the predicted labels",
            lambda p, y: float(np.mean(np.argmax(p, axis=1) == np.argmax(y)))),
    Mistake("np.argmax without axis= gives one number for the whole array of probabilities; use axis=1 to "
            "get the predicted label of each row", lambda p, y: float(np.mean(y == np.argmax(p)))),
]


# --------------------------------------------------------------------------- predicted_labels

SMALL_PROBS = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
# fewer rows than classes: the argmax down the columns has another shape than one per row
WIDE_PROBS = np.array([[0.05, 0.12, 0.5, 0.2, 0.13], [0.3, 0.04, 0.1, 0.16, 0.4]])


@pytest.mark.points(1)
@pytest.mark.target("predicted_labels")
def test_predicted_labels_small(submission):
    """predicted_labels: four rows of three class probabilities, two rows of five"""
    cases = call_each(submission, "predicted_labels", [(SMALL_PROBS,), (WIDE_PROBS,)])
    for (probs,), found in cases:
        n, c = probs.shape
        found = check_labels(found, probs, f"predicted_labels({n} rows x {c} classes)", cases)
        expect(
            found.dtype.kind in "iu",
            f"predicted_labels: the labels are right but their dtype is {found.dtype}; labels are "
            "integers (np.argmax returns integers; an array made with np.zeros(n) holds floats: "
            "use np.zeros(n, dtype=int) or .astype(int)).",
        )


# --------------------------------------------------------------------------- accuracy


@pytest.mark.points(1)
@pytest.mark.target("accuracy")
def test_accuracy_small(submission):
    """accuracy: three right out of four, with three classes and with six"""
    small = (SMALL_PROBS, np.array([1, 0, 0, 1]))
    # every likely mistake gives another value here (on the first input, the error rate and
    # the argmax of the labels both give 0.25)
    wide = (np.array([[0.05, 0.1, 0.6, 0.1, 0.1, 0.05], [0.3, 0.04, 0.1, 0.16, 0.36, 0.04],
                      [0.45, 0.1, 0.05, 0.15, 0.1, 0.15], [0.1, 0.15, 0.05, 0.5, 0.05, 0.15]]),
            np.array([2, 4, 0, 2]))
    cases = call_each(submission, "accuracy", [small, wide])
    for (probs, labels), found in cases:
        predicted = np.argmax(probs, axis=1).tolist()
        expect_close(found, right_accuracy(probs, labels),
                     what=f"accuracy(probabilities, labels) with predicted labels {predicted} "
                     f"and true labels {labels.tolist()}",
                     mistakes=ACCURACY_MISTAKES, cases=cases, right=right_accuracy)


# --------------------------------------------------------------------------- counting functions


DENSE_MISTAKES = [
    Mistake("you counted the weights only (n_inputs x units): each unit also has a bias", lambda n, u: n * u),
    Mistake("there is one bias per unit (output), not one per input", lambda n, u: n * u + n),
]

CONV2D_MISTAKES = [
    Mistake("you left out the biases: each filter has one bias", lambda c, f, k: f * k * k * c),
    Mistake("each filter has a kernel_size x kernel_size window on EVERY one of the input channels: "
            "multiply by in_channels", lambda c, f, k: f * (k * k + 1)),
    Mistake("a square kernel of size k has k x k weights per channel, not k", lambda c, f, k: f * (k * c + 1)),
    Mistake("there is one bias per filter, not one per (filter, input channel)", lambda c, f, k: f * c * (k * k + 1)),
]

CONV_OUTPUT_MISTAKES = [
    Mistake("that is the size with padding='same'; with valid padding (Keras' default) the output shrinks "
            "by kernel_size - 1", lambda size, k: size),
    Mistake("a k-wide window fits in size - kernel_size + 1 positions (one more than size - kernel_size)",
            lambda size, k: size - k),
    Mistake("with valid padding the output shrinks by kernel_size - 1, not kernel_size // 2",
            lambda size, k: size - k // 2),
]

_ROUNDED = ("you rounded size / pool_size to the nearest whole number; MaxPooling2D drops the incomplete "
            "block at the border: round down, with integer division size // pool_size")
POOL_OUTPUT_MISTAKES = [
    Mistake("you rounded up; MaxPooling2D drops the incomplete block at the border: use integer division "
            "size // pool_size", lambda size, p=2: -(-size // p)),
    Mistake("use integer division (//): the size of an image is a whole number", lambda size, p=2: size / p),
    Mistake("pooling windows move by pool_size (they do not overlap), so the size is divided by pool_size",
            lambda size, p=2: size - p + 1),
    Mistake(_ROUNDED, lambda size, p=2: round(size / p)),  # halves to even, as Python's round
    Mistake(_ROUNDED, lambda size, p=2: int(np.floor(size / p + 0.5))),  # halves up
    Mistake("you ignored pool_size: divide by it, not by 2 (2 is only its default)", lambda size, p=2: size // 2),
]


def judge_counts(cases: list, right, name: str, mistakes: list, hint=None, reveal: bool = True) -> None:
    """Each case's count must be ``right(*inputs)`` (an integer computed by Keras)."""
    for inputs, found in cases:
        expect_equal(found, right(*inputs), what=f"{name}({', '.join(str(a) for a in inputs)})",
                     mistakes=mistakes, cases=cases, right=right, reveal=reveal,
                     hint=hint(*inputs) if hint else "")


@pytest.mark.points(1)
@pytest.mark.target("dense_param_count")
def test_dense_param_count_logistic(submission):
    """dense_param_count: Dense(10) on 784 inputs and Dense(128) on 784"""
    cases = call_each(submission, "dense_param_count", [(784, 10), (784, 128)])
    judge_counts(cases, keras_dense_params, "dense_param_count", DENSE_MISTAKES, reveal=False,
                 hint=lambda n, u: f"Keras counts, for Dense({u}) on {n} inputs, one weight per (input, unit) "
                 "pair and one bias per unit")


@pytest.mark.points(1)
@pytest.mark.target("conv2d_param_count")
def test_conv2d_param_count_lesson(submission):
    """conv2d_param_count: Conv2D(8, 5) on 1 channel, Conv2D(16, 5) on 8, Conv2D(64, 3) on 64"""
    cases = call_each(submission, "conv2d_param_count", [(1, 8, 5), (8, 16, 5), (64, 64, 3)])
    judge_counts(cases, keras_conv2d_params, "conv2d_param_count", CONV2D_MISTAKES, reveal=False,
                 hint=lambda c, f, k: f"Keras counts, for each of the {f} filters, a {k}x{k} window on each of "
                 f"the {c} input channel(s), plus one bias")


@pytest.mark.points(1)
@pytest.mark.target("conv_output_size")
def test_conv_output_size_mnist(submission):
    """conv_output_size: 5x5 and 3x3 kernels on 28x28"""
    cases = call_each(submission, "conv_output_size", [(28, 5), (28, 3)])
    judge_counts(cases, keras_conv_output, "conv_output_size", CONV_OUTPUT_MISTAKES, reveal=False,
                 hint=lambda size, k: f"count the positions a {k}-wide window fits in {size} pixels (valid padding)")


@pytest.mark.points(1)
@pytest.mark.target("pool_output_size")
def test_pool_output_size_examples(submission):
    """pool_output_size: 26 and 13 with the default pool size, 12 and 28 with pool size 3"""
    cases = call_each(submission, "pool_output_size", [(26,), (13,), (12, 3), (28, 3)])
    judge_counts(cases, keras_pool_output, "pool_output_size", POOL_OUTPUT_MISTAKES, reveal=False,
                 hint=lambda size, p=2: f"count the complete {p}x{p} blocks along {size} pixels")


# --------------------------------------------------------------------------- the lesson's constants


def values_of(mistakes: list, *inputs) -> list:
    """(value, explanation) of each mistake on ``inputs``: a constant is one input, so a
    mistake is named when its value is the found one and no other mistake's value is."""
    return [(m.fn(*inputs), m.explanation) for m in mistakes]


def expect_count(found, expected: int, name: str, mistakes: list, hint: str) -> None:
    """A public check of a graded constant: why it is wrong, never the number (reveal=False)."""
    expect(found is not Ellipsis, f"{name} is still `...`: replace it with the number.")
    expect_equal(found, expected, what=name, mistakes=mistakes, hint=hint, reveal=False)


@pytest.mark.points(1)
@pytest.mark.target("LOGISTIC_REGRESSION_WEIGHTS")
def test_logistic_regression_weights(submission):
    """LOGISTIC_REGRESSION_WEIGHTS: Dense(10) on 784 pixels"""
    expected = lesson_models()["logistic"].count_params()
    expect_count(submission.value("LOGISTIC_REGRESSION_WEIGHTS"), expected, "LOGISTIC_REGRESSION_WEIGHTS",
                 values_of(DENSE_MISTAKES, 784, 10), "recount Dense(10) on the 784 pixels: one weight per (pixel, unit) pair "
                 "and one bias per unit")


@pytest.mark.points(1)
@pytest.mark.target("TWO_LAYER_WEIGHTS")
def test_two_layer_weights(submission):
    """TWO_LAYER_WEIGHTS: Dense(128) then Dense(10)"""
    model = lesson_models()["two_layer"]
    hidden, output = model.layers[-2].count_params(), model.layers[-1].count_params()
    mistakes = [
        (784 * 128 + 128 * 10, "you left out the biases (128 in the hidden layer, 10 in the output layer)"),
        (hidden, "that is the hidden layer only; add the Dense(10) output layer"),
        (output, "that is the output layer only; add the Dense(128) hidden layer"),
    ]
    expect_count(submission.value("TWO_LAYER_WEIGHTS"), model.count_params(), "TWO_LAYER_WEIGHTS", mistakes,
                 "add up both layers: Dense(128) on the 784 pixels, then Dense(10) on the 128 outputs, each with "
                 "one weight per (input, unit) pair and one bias per unit")


@pytest.mark.points(1)
@pytest.mark.target("FIRST_CONV_WEIGHTS")
def test_first_conv_weights(submission):
    """FIRST_CONV_WEIGHTS: Conv2D(8, 5) on a one-channel image"""
    expected = lesson_models()["conv"].layers[0].count_params()
    expect_count(submission.value("FIRST_CONV_WEIGHTS"), expected, "FIRST_CONV_WEIGHTS", values_of(CONV2D_MISTAKES, 1, 8, 5),
                 "recount Conv2D(8, 5) on one channel: each filter has a 5x5 window and one bias")


@pytest.mark.points(1)
@pytest.mark.target("CONV_MODEL_WEIGHTS")
def test_conv_model_weights(submission):
    """CONV_MODEL_WEIGHTS: Conv2D(8, 5), Flatten, Dense(10) on 28x28x1"""
    model = lesson_models()["conv"]
    conv, dense = model.layers[0].count_params(), model.layers[-1].count_params()
    mistakes = [
        (conv, "that is the convolution only; the Dense(10) after Flatten has most of the weights"),
        (dense, "that is the Dense(10) layer only; add the convolution's weights"),
        (conv + 28 * 28 * 8 * 10 + 10, "with valid padding the 5x5 convolution outputs 24x24 images, not "
         "28x28: Flatten gives 24 * 24 * 8 numbers"),
        (conv + 24 * 24 * 10 + 10, "Flatten outputs all 8 channels: 24 * 24 * 8 numbers, not 24 * 24"),
        (8 * 25 + 24 * 24 * 8 * 10, "you left out the biases (8 in the convolution, 10 in the dense layer)"),
        (conv + 784 * 10 + 10, "the Dense layer sees the flattened OUTPUT of the convolution (24 x 24 x 8), "
         "not the 784 pixels"),
    ]
    expect_count(submission.value("CONV_MODEL_WEIGHTS"), model.count_params(), "CONV_MODEL_WEIGHTS", mistakes,
                 "add the convolution's weights to those of the Dense(10), which sees every number Flatten outputs "
                 "(the convolution's output size x its 8 channels), plus the biases")


@pytest.mark.points(1)
@pytest.mark.target("SECOND_CONV_WEIGHTS")
def test_second_conv_weights(submission):
    """SECOND_CONV_WEIGHTS: Conv2D(16, 5) after the 8-filter convolution"""
    expected = lesson_models()["two_conv"].layers[-1].count_params()
    mistakes = values_of(CONV2D_MISTAKES, 8, 16, 5) + [
        (lesson_models()["two_conv"].count_params(), "that counts both convolutions; give the second one only"),
    ]
    expect_count(submission.value("SECOND_CONV_WEIGHTS"), expected, "SECOND_CONV_WEIGHTS", mistakes,
                 "recount Conv2D(16, 5) on the 8 channels the first convolution outputs: a 5x5 window on every "
                 "input channel per filter, plus one bias per filter")


@pytest.mark.points(1)
@pytest.mark.target("FLATTENED_FEATURES")
def test_flattened_features(submission):
    """FLATTENED_FEATURES: the output of Flatten in the two-block 64-filter CNN"""
    expected = int(lesson_models()["cnn"].output_shape[-1])
    mistakes = [
        (7 * 7 * 64, "each 3x3 convolution with valid padding shrinks the image by 2: 28 -> 26 -> 13 -> 11 -> 5"),
        (6 * 6 * 64, "MaxPooling2D rounds down: 11 // 2 = 5, not 6"),
        (5 * 5, "Flatten outputs every channel: multiply by the 64 filters of the last convolution"),
        (5 * 5 * 64 * 64, "the last convolution has 64 output channels; multiply by 64 once"),
        (24 * 24 * 64, "don't forget the two MaxPooling2D layers: each halves the size (rounding down)"),
    ]
    expect_count(submission.value("FLATTENED_FEATURES"), expected, "FLATTENED_FEATURES", mistakes,
                 "follow the image size through the layers (a 3x3 convolution with valid padding shrinks it by 2, "
                 "MaxPooling2D halves it, rounding down), then multiply by the channels of the last convolution")
