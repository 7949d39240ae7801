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

from grader.checks import CheckFailed, expect, expect_array, expect_close, expect_equal, show

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


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def check_labels(found, probs: np.ndarray, what: str) -> np.ndarray:
    """``found`` must hold, for each row of ``probs``, the index of a largest probability.

    On a tie any of the tied classes is accepted (np.argmax picks the first, a loop with
    ``>=`` the last: both are the most probable class).
    """
    n, c = probs.shape
    expected = np.argmax(probs, axis=1)
    if _is_number(found):
        raise CheckFailed(
            f"{what}: expected an array of {n} labels (one per row), found the single number "
            f"{show(found)}. Likely mistake: np.argmax without axis= looks at the whole array "
            "flattened; use axis=1 to get one label per row."
        )
    one_hot = np.eye(c, dtype=int)[expected]
    mistakes = [
        (np.argmax(probs, axis=0), "you took the argmax down each column (axis=0), one result per "
         "class; use axis=1 to get the most probable class of each row"),
        (probs.max(axis=1), "you returned the largest probability of each row; return its index "
         "(np.argmax), which is the class"),
        (one_hot, "you returned one-hot rows; return the class index of each row"),
    ]
    if not isinstance(found, np.ndarray) or found.shape != (n,) or found.dtype.kind not in "biuf":
        expect_array(found, expected, what, mistakes=mistakes)  # raises with the right message
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
        if np.array_equal(values, np.argmin(probs, axis=1)):
            message += " Likely mistake: you picked the least probable class (argmin); use np.argmax."
        elif np.array_equal(values, expected + 1):
            message += " Likely mistake: classes count from 0 (the first column is class 0); don't add 1."
        raise CheckFailed(message)
    return found


def accuracy_mistakes(probs: np.ndarray, labels: np.ndarray) -> list:
    predicted = np.argmax(probs, axis=1)
    correct = float(np.mean(predicted == labels))
    return [
        (100 * correct, "you returned a percentage; return a fraction in [0, 1] (don't multiply by 100)"),
        (1 - correct, "you returned the error rate (the fraction of WRONG predictions); accuracy is the "
         "fraction of rows whose predicted label equals the true label"),
        (int(np.sum(predicted == labels)), "you returned the number of correct predictions; divide it by "
         "the number of examples"),
        (float(np.mean(predicted == np.argmax(labels))), "you took np.argmax of the labels as if they were "
         "one-hot rows; the labels are already class indices: compare them with the predicted labels"),
    ]


# --------------------------------------------------------------------------- predicted_labels


@pytest.mark.points(1)
@pytest.mark.target("predicted_labels")
def test_predicted_labels_small(submission):
    """predicted_labels: four rows of three class probabilities"""
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    found = submission.call("predicted_labels", probs)
    found = check_labels(found, probs, "predicted_labels(4 rows x 3 classes)")
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
    """accuracy: three right out of four"""
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    labels = np.array([1, 0, 0, 1])
    found = submission.call("accuracy", probs, labels)
    expect_close(found, 0.75, what="accuracy(probabilities, labels) with predicted labels [1, 0, 2, 1] "
                 "and true labels [1, 0, 0, 1]", mistakes=accuracy_mistakes(probs, labels))


# --------------------------------------------------------------------------- counting functions


def dense_mistakes(n: int, u: int) -> list:
    return [
        (n * u, f"{n} x {u} counts the weights only: each of the {u} units also has a bias"),
        (n * u + n, "there is one bias per unit (output), not one per input"),
    ]


def conv2d_mistakes(c: int, f: int, k: int) -> list:
    return [
        (f * k * k * c, "you left out the biases: each filter has one bias"),
        (f * (k * k + 1), f"each filter has a {k}x{k} window on EVERY one of the {c} input channels: "
         "multiply by in_channels"),
        (f * (k * c + 1), f"a square kernel of size {k} has {k} x {k} weights per channel, not {k}"),
        (f * c * (k * k + 1), "there is one bias per filter, not one per (filter, input channel)"),
    ]


def conv_output_mistakes(size: int, k: int) -> list:
    return [
        (size, "that is the size with padding='same'; with valid padding (Keras' default) the output "
         "shrinks by kernel_size - 1"),
        (size - k, f"a {k}-wide window fits in size - kernel_size + 1 positions (one more than size - kernel_size)"),
        (size - k // 2, "with valid padding the output shrinks by kernel_size - 1, not kernel_size // 2"),
    ]


def pool_output_mistakes(size: int, p: int) -> list:
    return [
        (-(-size // p), "you rounded up; MaxPooling2D drops the incomplete block at the border: "
         "use integer division size // pool_size"),
        (size / p, "use integer division (//): the size of an image is a whole number"),
        (size - p + 1, "pooling windows move by pool_size (they do not overlap), so the size is divided "
         "by pool_size"),
    ]


@pytest.mark.points(1)
@pytest.mark.target("dense_param_count")
def test_dense_param_count_logistic(submission):
    """dense_param_count: Dense(10) on 784 inputs and Dense(128) on 784"""
    for n, u in [(784, 10), (784, 128)]:
        expected = keras_dense_params(n, u)
        found = submission.call("dense_param_count", n, u)
        expect_equal(found, expected, what=f"dense_param_count({n}, {u})", mistakes=dense_mistakes(n, u),
                     reveal=False, hint=f"Keras counts, for Dense({u}) on {n} inputs, one weight per (input, unit) "
                     "pair and one bias per unit")


@pytest.mark.points(1)
@pytest.mark.target("conv2d_param_count")
def test_conv2d_param_count_lesson(submission):
    """conv2d_param_count: Conv2D(8, 5) on 1 channel and Conv2D(16, 5) on 8"""
    for c, f, k in [(1, 8, 5), (8, 16, 5)]:
        expected = keras_conv2d_params(c, f, k)
        found = submission.call("conv2d_param_count", c, f, k)
        expect_equal(found, expected, what=f"conv2d_param_count({c}, {f}, {k})", mistakes=conv2d_mistakes(c, f, k),
                     reveal=False, hint=f"Keras counts, for each of the {f} filters, a {k}x{k} window on each of "
                     f"the {c} input channel(s), plus one bias")


@pytest.mark.points(1)
@pytest.mark.target("conv_output_size")
def test_conv_output_size_mnist(submission):
    """conv_output_size: 5x5 and 3x3 kernels on 28x28"""
    for size, k in [(28, 5), (28, 3)]:
        expected = keras_conv_output(size, k)
        found = submission.call("conv_output_size", size, k)
        expect_equal(found, expected, what=f"conv_output_size({size}, {k})",
                     mistakes=conv_output_mistakes(size, k), reveal=False,
                     hint=f"count the positions a {k}-wide window fits in {size} pixels (valid padding)")


@pytest.mark.points(1)
@pytest.mark.target("pool_output_size")
def test_pool_output_size_examples(submission):
    """pool_output_size: 26 and 13 with the default pool size, 12 with pool size 3"""
    for size, p, args in [(26, 2, (26,)), (13, 2, (13,)), (12, 3, (12, 3))]:
        expected = keras_pool_output(size, p)
        found = submission.call("pool_output_size", *args)
        shown = ", ".join(str(a) for a in args)
        expect_equal(found, expected, what=f"pool_output_size({shown})", mistakes=pool_output_mistakes(size, p),
                     reveal=False, hint=f"count the complete {p}x{p} blocks along {size} pixels")


# --------------------------------------------------------------------------- the lesson's constants


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
                 dense_mistakes(784, 10), "recount Dense(10) on the 784 pixels: one weight per (pixel, unit) pair "
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
    expect_count(submission.value("FIRST_CONV_WEIGHTS"), expected, "FIRST_CONV_WEIGHTS", conv2d_mistakes(1, 8, 5),
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
    mistakes = conv2d_mistakes(8, 16, 5) + [
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
