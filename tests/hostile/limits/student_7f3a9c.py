"""An honest submission whose file name is a marker (student_7f3a9c: names and student ids
are what file names hold). Graded before memory_probe in one slot; the probe must not find
this name in its own memory. 4/8 (no model)."""
import numpy as np


def scale(x):
    return x / np.abs(x).max()


def predict_labels(probs):
    return np.asarray(probs).argmax(axis=1)


RATE = 0.01
