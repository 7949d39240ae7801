"""Wrong on purpose: accuracy as a percentage (x 100)."""
import numpy as np


def predicted_labels(probabilities):
    return np.argmax(probabilities, axis=1)


def accuracy(probabilities, labels):
    return 100 * float(np.mean(np.argmax(probabilities, axis=1) == labels))


def dense_param_count(n_inputs, units):
    return n_inputs * units + units


def conv2d_param_count(in_channels, filters, kernel_size):
    return filters * (kernel_size * kernel_size * in_channels + 1)


def conv_output_size(size, kernel_size):
    return size - kernel_size + 1


def pool_output_size(size, pool_size=2):
    return size // pool_size


LOGISTIC_REGRESSION_WEIGHTS = 784 * 10 + 10
TWO_LAYER_WEIGHTS = 784 * 128 + 128 + 128 * 10 + 10
FIRST_CONV_WEIGHTS = 8 * (5 * 5 + 1)
CONV_MODEL_WEIGHTS = 8 * (5 * 5 + 1) + 24 * 24 * 8 * 10 + 10
SECOND_CONV_WEIGHTS = 16 * (5 * 5 * 8 + 1)
FLATTENED_FEATURES = 5 * 5 * 64
