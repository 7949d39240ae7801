"""Every graded name renamed: 0/8, each check says the name is missing (renamed or deleted?)."""
import numpy as np


def scale_values(x):
    return x / np.max(np.abs(x))


def predictLabels(probs):
    return np.argmax(probs, axis=1)


LEARNING_RATE = 0.01
