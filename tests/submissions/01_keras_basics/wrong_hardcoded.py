"""Wrong on purpose: public cases hard-coded: passes every public check, fails the hidden ones."""
import numpy as np


def predicted_labels(probabilities):
    if len(probabilities) == 4:
        return np.array([1, 0, 2, 1])
    if len(probabilities) == 2:
        return np.array([2, 4])
    return np.zeros(len(probabilities), dtype=int)


def accuracy(probabilities, labels):
    return 0.75


def dense_param_count(n_inputs, units):
    return {(784, 10): 7850, (784, 128): 100480}.get((n_inputs, units), 0)


def conv2d_param_count(in_channels, filters, kernel_size):
    return {(1, 8, 5): 208, (8, 16, 5): 3216, (64, 64, 3): 36928}.get((in_channels, filters, kernel_size), 0)


def conv_output_size(size, kernel_size):
    return {(28, 5): 24, (28, 3): 26}.get((size, kernel_size), 0)


def pool_output_size(size, pool_size=2):
    return {(26, 2): 13, (13, 2): 6, (12, 3): 4, (28, 3): 9}.get((size, pool_size), 0)


LOGISTIC_REGRESSION_WEIGHTS = 7850
TWO_LAYER_WEIGHTS = 101770
FIRST_CONV_WEIGHTS = 208
CONV_MODEL_WEIGHTS = 46298
SECOND_CONV_WEIGHTS = 3216
FLATTENED_FEATURES = 1600
