"""A syntax error: nothing of this file can run. 0/8; the messages must say why."""
import numpy as np


def scale(x):
    return x / np.max(np.abs(x)


def predict_labels(probs):
    return np.argmax(probs, axis=1)


RATE = 0.01
