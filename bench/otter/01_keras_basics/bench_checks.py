"""Otter-side checks of 01_keras_basics (support file of the otter autograder; bench only).

Each function mirrors the pass/fail condition of the test of the same name in
solutions/01_keras_basics/test_01_keras_basics.py: it calls the student's functions (or
reads the constants) in the notebook's namespace ``ns`` and raises AssertionError when the
check fails. Expected counts are the formulas Keras implements (checked against Keras by
the grader's suite). Random cases use fixed seeds.
"""

import numpy as np

QUESTIONS = [  # (name, points, hidden)
    ("test_predicted_labels_small", 1, False),
    ("test_predicted_labels_random", 1, True),
    ("test_accuracy_small", 1, False),
    ("test_accuracy_random", 1, True),
    ("test_dense_param_count_logistic", 1, False),
    ("test_dense_param_count_random", 1, True),
    ("test_conv2d_param_count_lesson", 1, False),
    ("test_conv2d_param_count_random", 1, True),
    ("test_conv_output_size_mnist", 1, False),
    ("test_conv_output_size_random", 1, True),
    ("test_pool_output_size_examples", 1, False),
    ("test_pool_output_size_random", 1, True),
    ("test_logistic_regression_weights", 1, False),
    ("test_two_layer_weights", 1, False),
    ("test_first_conv_weights", 1, False),
    ("test_conv_model_weights", 1, False),
    ("test_second_conv_weights", 1, False),
    ("test_flattened_features", 1, False),
]


def run(name, ns):
    globals()[name](ns)
    return True


def is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def same_count(found, expected, what):
    assert is_number(found) and float(found) == float(expected), f"{what}: expected {expected}, found {found!r}"


def close(found, expected, what, tol=1e-6):
    if isinstance(found, np.ndarray) and found.shape == ():
        found = found.item()
    assert is_number(found) and abs(float(found) - expected) <= max(tol, tol * abs(expected)), \
        f"{what}: expected {expected}, found {found!r}"


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def labels_ok(found, probs, what):
    """One label per row, each the index of a largest probability (any of tied ones)."""
    n, c = probs.shape
    assert isinstance(found, np.ndarray) and found.shape == (n,) and found.dtype.kind in "biuf", \
        f"{what}: expected an array of {n} labels, found {getattr(found, 'shape', type(found).__name__)}"
    allowed = probs == probs.max(axis=1, keepdims=True)
    values = found.astype(np.float64)
    for i in range(n):
        v = values[i]
        assert v == np.floor(v) and 0 <= v < c and allowed[i, int(v)], f"{what}: row {i} wrong"


# ----------------------------------------------------------------------------- labels, accuracy

SMALL = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])


def test_predicted_labels_small(ns):
    found = ns["predicted_labels"](SMALL)
    labels_ok(found, SMALL, "predicted_labels")
    assert found.dtype.kind in "iu", f"predicted_labels: dtype {found.dtype}, expected integers"


def test_predicted_labels_random(ns):
    rng = np.random.default_rng(11)
    cases = [softmax(rng.normal(0, 2, size=(n, c))) for n, c in [(1, 10), (25, 2), (40, 7), (13, 12), (60, 10)]]
    tied = np.round(softmax(rng.normal(0, 0.5, size=(30, 4))), 1)
    tied[0] = [0.25, 0.25, 0.25, 0.25]
    tied[1] = [0.1, 0.45, 0.0, 0.45]
    cases.append(tied)
    for probs in cases:
        labels_ok(ns["predicted_labels"](probs), probs, f"predicted_labels {probs.shape}")


def test_accuracy_small(ns):
    close(ns["accuracy"](SMALL, np.array([1, 0, 0, 1])), 0.75, "accuracy")


def test_accuracy_random(ns):
    rng = np.random.default_rng(12)
    for n, c in [(50, 10), (7, 3), (200, 10), (31, 2)]:
        probs = softmax(rng.normal(0, 2, size=(n, c)))
        labels = rng.integers(0, c, size=n).astype(np.uint8)
        right = rng.random(n) < 0.6
        labels[right] = np.argmax(probs[right], axis=1)
        close(ns["accuracy"](probs, labels), float(np.mean(np.argmax(probs, axis=1) == labels)), "accuracy")
    probs = softmax(rng.normal(0, 2, size=(20, 10)))
    labels = np.argmax(probs, axis=1).astype(np.uint8)
    close(ns["accuracy"](probs, labels), 1.0, "accuracy, all right")
    close(ns["accuracy"](probs, ((labels + 1) % 10).astype(np.uint8)), 0.0, "accuracy, all wrong")


# ----------------------------------------------------------------------------- counting functions


def test_dense_param_count_logistic(ns):
    for n, u in [(784, 10), (784, 128)]:
        same_count(ns["dense_param_count"](n, u), (n + 1) * u, f"dense_param_count({n}, {u})")


def test_dense_param_count_random(ns):
    rng = np.random.default_rng(13)
    for _ in range(5):
        n, u = int(rng.integers(1, 2000)), int(rng.integers(1, 300))
        same_count(ns["dense_param_count"](n, u), (n + 1) * u, f"dense_param_count({n}, {u})")


def test_conv2d_param_count_lesson(ns):
    for c, f, k in [(1, 8, 5), (8, 16, 5)]:
        same_count(ns["conv2d_param_count"](c, f, k), f * (k * k * c + 1), f"conv2d_param_count({c}, {f}, {k})")


def test_conv2d_param_count_random(ns):
    rng = np.random.default_rng(14)
    for _ in range(5):
        c, f, k = int(rng.choice([1, 3, 8, 16, 32, 64])), int(rng.integers(1, 129)), int(rng.choice([1, 2, 3, 4, 5, 7]))
        same_count(ns["conv2d_param_count"](c, f, k), f * (k * k * c + 1), f"conv2d_param_count({c}, {f}, {k})")


def test_conv_output_size_mnist(ns):
    for size, k in [(28, 5), (28, 3)]:
        same_count(ns["conv_output_size"](size, k), size - k + 1, f"conv_output_size({size}, {k})")


def test_conv_output_size_random(ns):
    rng = np.random.default_rng(15)
    for _ in range(6):
        size, k = int(rng.integers(8, 300)), int(rng.choice([1, 2, 3, 4, 5, 7, 9, 11]))
        same_count(ns["conv_output_size"](size, k), size - k + 1, f"conv_output_size({size}, {k})")


def test_pool_output_size_examples(ns):
    same_count(ns["pool_output_size"](26), 13, "pool_output_size(26)")
    same_count(ns["pool_output_size"](13), 6, "pool_output_size(13)")
    same_count(ns["pool_output_size"](12, 3), 4, "pool_output_size(12, 3)")


def test_pool_output_size_random(ns):
    rng = np.random.default_rng(16)
    for _ in range(6):
        p = int(rng.integers(2, 6))
        size = int(rng.integers(p, 200))
        size += 1 if size % p == 0 else 0
        same_count(ns["pool_output_size"](size, p), size // p, f"pool_output_size({size}, {p})")


# ----------------------------------------------------------------------------- the lesson's constants


def test_logistic_regression_weights(ns):
    same_count(ns["LOGISTIC_REGRESSION_WEIGHTS"], 784 * 10 + 10, "LOGISTIC_REGRESSION_WEIGHTS")


def test_two_layer_weights(ns):
    same_count(ns["TWO_LAYER_WEIGHTS"], 784 * 128 + 128 + 128 * 10 + 10, "TWO_LAYER_WEIGHTS")


def test_first_conv_weights(ns):
    same_count(ns["FIRST_CONV_WEIGHTS"], 8 * (5 * 5 + 1), "FIRST_CONV_WEIGHTS")


def test_conv_model_weights(ns):
    same_count(ns["CONV_MODEL_WEIGHTS"], 8 * (5 * 5 + 1) + 24 * 24 * 8 * 10 + 10, "CONV_MODEL_WEIGHTS")


def test_second_conv_weights(ns):
    same_count(ns["SECOND_CONV_WEIGHTS"], 16 * (5 * 5 * 8 + 1), "SECOND_CONV_WEIGHTS")


def test_flattened_features(ns):
    same_count(ns["FLATTENED_FEATURES"], 5 * 5 * 64, "FLATTENED_FEATURES")
