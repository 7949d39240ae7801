"""Mutation catalogue of 01_keras_basics for `grader mutants 01_keras_basics`
(docs/AUTHORING.md, "Measuring a suite"). Never released: `grader release` copies no hidden_* file.

MISTAKES: typical student answers, each replacing one graded definition; `expect` holds the
words a good failing message about that mistake contains (any case). inputs_<name>(rng):
random argument tuples on which a surviving mutant is compared with the master to tell an
equivalent mutant from a gap in the suite.
"""

import numpy as np

MISTAKES = [
    # predicted_labels
    {"name": "argmax_axis0", "replaces": "predicted_labels", "expect": ["axis=0"],
     "source": "def predicted_labels(probabilities):\n    return np.argmax(probabilities, axis=0)\n"},
    {"name": "argmax_flat", "replaces": "predicted_labels", "expect": ["axis=1"],
     "source": "def predicted_labels(probabilities):\n    return np.argmax(probabilities)\n"},
    {"name": "largest_probability", "replaces": "predicted_labels", "expect": ["largest probability"],
     "source": "def predicted_labels(probabilities):\n    return np.max(probabilities, axis=1)\n"},
    {"name": "argmin", "replaces": "predicted_labels", "expect": ["argmin"],
     "source": "def predicted_labels(probabilities):\n    return np.argmin(probabilities, axis=1)\n"},
    {"name": "labels_from_one", "replaces": "predicted_labels", "expect": ["from 0"],
     "source": "def predicted_labels(probabilities):\n    return np.argmax(probabilities, axis=1) + 1\n"},
    {"name": "float_labels", "replaces": "predicted_labels", "expect": ["dtype"],
     "source": ("def predicted_labels(probabilities):\n"
                "    probabilities = np.asarray(probabilities)\n"
                "    labels = np.zeros(len(probabilities))\n"
                "    for i, row in enumerate(probabilities):\n"
                "        labels[i] = np.argmax(row)\n"
                "    return labels\n")},
    # accuracy
    {"name": "percentage", "replaces": "accuracy", "expect": ["percentage"],
     "source": ("def accuracy(probabilities, labels):\n"
                "    return 100 * float(np.mean(np.argmax(probabilities, axis=1) == labels))\n")},
    {"name": "error_rate", "replaces": "accuracy", "expect": ["error rate"],
     "source": ("def accuracy(probabilities, labels):\n"
                "    return float(np.mean(np.argmax(probabilities, axis=1) != labels))\n")},
    {"name": "count_correct", "replaces": "accuracy", "expect": ["number of correct"],
     "source": ("def accuracy(probabilities, labels):\n"
                "    return int(np.sum(np.argmax(probabilities, axis=1) == labels))\n")},
    {"name": "argmax_of_labels", "replaces": "accuracy", "expect": ["one-hot"],
     "source": ("def accuracy(probabilities, labels):\n"
                "    return float(np.mean(np.argmax(probabilities, axis=1) == np.argmax(labels)))\n")},
    # the counting functions
    {"name": "dense_no_bias", "replaces": "dense_param_count", "expect": ["bias"],
     "source": "def dense_param_count(n_inputs, units):\n    return n_inputs * units\n"},
    {"name": "dense_bias_per_input", "replaces": "dense_param_count", "expect": ["one bias per unit"],
     "source": "def dense_param_count(n_inputs, units):\n    return n_inputs * units + n_inputs\n"},
    {"name": "conv_ignores_channels", "replaces": "conv2d_param_count", "expect": ["in_channels"],
     "source": ("def conv2d_param_count(in_channels, filters, kernel_size):\n"
                "    return filters * (kernel_size * kernel_size + 1)\n")},
    {"name": "conv_no_biases", "replaces": "conv2d_param_count", "expect": ["biases"],
     "source": ("def conv2d_param_count(in_channels, filters, kernel_size):\n"
                "    return filters * kernel_size * kernel_size * in_channels\n")},
    {"name": "conv_kernel_not_squared", "replaces": "conv2d_param_count", "expect": ["square"],
     "source": ("def conv2d_param_count(in_channels, filters, kernel_size):\n"
                "    return filters * (kernel_size * in_channels + 1)\n")},
    {"name": "conv_bias_per_channel", "replaces": "conv2d_param_count", "expect": ["one bias per filter"],
     "source": ("def conv2d_param_count(in_channels, filters, kernel_size):\n"
                "    return filters * in_channels * (kernel_size * kernel_size + 1)\n")},
    {"name": "same_padding", "replaces": "conv_output_size", "expect": ["padding"],
     "source": "def conv_output_size(size, kernel_size):\n    return size\n"},
    {"name": "off_by_one", "replaces": "conv_output_size", "expect": ["+ 1"],
     "source": "def conv_output_size(size, kernel_size):\n    return size - kernel_size\n"},
    {"name": "pool_rounds_up", "replaces": "pool_output_size", "expect": ["rounded up"],
     "source": "def pool_output_size(size, pool_size=2):\n    return -(-size // pool_size)\n"},
    {"name": "pool_true_division", "replaces": "pool_output_size", "expect": ["//"],
     "source": "def pool_output_size(size, pool_size=2):\n    return size / pool_size\n"},
    {"name": "pool_ignores_pool_size", "replaces": "pool_output_size", "expect": ["pool_size"],
     "source": "def pool_output_size(size, pool_size=2):\n    return size // 2\n"},
    # the lesson's constants
    {"name": "logistic_no_biases", "replaces": "LOGISTIC_REGRESSION_WEIGHTS", "expect": ["bias"],
     "source": "LOGISTIC_REGRESSION_WEIGHTS = 784 * 10\n"},
    {"name": "two_layer_hidden_only", "replaces": "TWO_LAYER_WEIGHTS", "expect": ["output layer"],
     "source": "TWO_LAYER_WEIGHTS = 784 * 128 + 128\n"},
    {"name": "conv_model_28x28", "replaces": "CONV_MODEL_WEIGHTS", "expect": ["24x24"],
     "source": "CONV_MODEL_WEIGHTS = 8 * (5 * 5 + 1) + (28 * 28 * 8) * 10 + 10\n"},
    {"name": "second_conv_one_channel", "replaces": "SECOND_CONV_WEIGHTS", "expect": ["in_channels"],
     "source": "SECOND_CONV_WEIGHTS = 16 * (5 * 5 + 1)\n"},
    {"name": "flattened_no_shrink", "replaces": "FLATTENED_FEATURES", "expect": ["shrinks"],
     "source": "FLATTENED_FEATURES = 7 * 7 * 64\n"},
    {"name": "flattened_rounds_up", "replaces": "FLATTENED_FEATURES", "expect": ["rounds down"],
     "source": "FLATTENED_FEATURES = 6 * 6 * 64\n"},
]


def _probabilities(rng, n, c):
    logits = rng.normal(0, 2, size=(n, c))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def inputs_predicted_labels(rng):
    for _ in range(100):
        yield (_probabilities(rng, int(rng.integers(1, 60)), int(rng.integers(2, 13))),)
    yield (np.array([[0.25, 0.25, 0.25, 0.25], [0.1, 0.45, 0.0, 0.45]]),)  # ties
    yield ([[0.1, 0.9], [0.8, 0.2]],)  # a list


def inputs_accuracy(rng):
    for _ in range(100):
        n, c = int(rng.integers(1, 200)), int(rng.integers(2, 11))
        yield _probabilities(rng, n, c), rng.integers(0, c, size=n).astype(rng.choice([np.uint8, np.int64]))
    yield [[0.1, 0.9], [0.8, 0.2]], [1, 1]  # lists


def inputs_dense_param_count(rng):
    for _ in range(300):
        yield int(rng.integers(1, 5000)), int(rng.integers(1, 1000))


def inputs_conv2d_param_count(rng):
    for _ in range(300):
        yield int(rng.integers(1, 257)), int(rng.integers(1, 257)), int(rng.integers(1, 12))


def inputs_conv_output_size(rng):
    for _ in range(300):
        k = int(rng.integers(1, 12))
        yield int(rng.integers(k, 500)), k


def inputs_pool_output_size(rng):
    for _ in range(300):
        p = int(rng.integers(1, 8))
        size = int(rng.integers(p, 500))
        yield (size,) if rng.random() < 0.3 else (size, p)
