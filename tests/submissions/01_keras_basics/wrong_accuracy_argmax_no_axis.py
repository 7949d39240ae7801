"""Wrong on purpose (a mistake the first catalogue did not have): accuracy compares the labels with
np.argmax of the probabilities WITHOUT axis=, one number for the whole array."""
import numpy as np


def predicted_labels(probabilities):
    labels = []
    for row in probabilities:
        best = 0
        for j in range(len(row)):
            if row[j] >= row[best]:  # on a tie, the LAST most probable class
                best = j
        labels.append(best)
    return np.array(labels, dtype=np.int64)


def accuracy(probabilities, labels):
    return float(np.mean(np.asarray(labels) == np.argmax(probabilities)))


def dense_param_count(n_inputs, units):
    return (n_inputs + 1) * units


def conv2d_param_count(in_channels, filters, kernel_size):
    weights = 0
    for _ in range(filters):
        weights += kernel_size**2 * in_channels + 1
    return weights


def conv_output_size(size, kernel_size):
    positions = 0
    start = 0
    while start + kernel_size <= size:
        positions += 1
        start += 1
    return positions


def pool_output_size(size, pool_size=2):
    return int(size / pool_size)


LOGISTIC_REGRESSION_WEIGHTS = dense_param_count(784, 10)
TWO_LAYER_WEIGHTS = dense_param_count(784, 128) + dense_param_count(128, 10)
FIRST_CONV_WEIGHTS = conv2d_param_count(1, 8, 5)
CONV_MODEL_WEIGHTS = FIRST_CONV_WEIGHTS + dense_param_count(conv_output_size(28, 5) ** 2 * 8, 10)
SECOND_CONV_WEIGHTS = conv2d_param_count(8, 16, 5)
FLATTENED_FEATURES = pool_output_size(conv_output_size(pool_output_size(conv_output_size(28, 3)), 3)) ** 2 * 64
