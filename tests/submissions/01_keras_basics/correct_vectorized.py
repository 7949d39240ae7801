"""A correct submission written differently: argsort, count_nonzero, math, literal numbers."""
import math

import numpy as np


def predicted_labels(probabilities):
    p = np.asarray(probabilities, dtype=float)
    # the stable argsort of the negated row puts the first most probable class first
    return np.argsort(-p, axis=-1, kind="stable")[:, 0]


def accuracy(probabilities, labels):
    hits = np.count_nonzero(predicted_labels(probabilities) == np.asarray(labels).ravel())
    return hits / np.asarray(labels).size


def dense_param_count(n_inputs, units):
    return math.prod([n_inputs, units]) + units


def conv2d_param_count(in_channels, filters, kernel_size):
    kernel = np.zeros((kernel_size, kernel_size, in_channels, filters))
    bias = np.zeros(filters)
    return kernel.size + bias.size


def conv_output_size(size, kernel_size):
    return len(range(kernel_size - 1, size))


def pool_output_size(size, pool_size=2):
    return math.floor(size / pool_size)


LOGISTIC_REGRESSION_WEIGHTS = 7850
TWO_LAYER_WEIGHTS = 101770
FIRST_CONV_WEIGHTS = 208
CONV_MODEL_WEIGHTS = 46298
SECOND_CONV_WEIGHTS = 3216
FLATTENED_FEATURES = 1600
