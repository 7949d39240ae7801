"""A normal, partly right submission: scale divides by the max (not the absolute max), no model."""
import numpy as np


def scale(x):
    return x / np.max(x)


def predict_labels(probs):
    return np.argmax(probs, axis=1)


RATE = 0.01
