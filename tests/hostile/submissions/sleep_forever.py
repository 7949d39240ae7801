"""scale is right (2 points), then predict_labels sleeps forever: the time limit ends it, the
points already earned stay. 2/8, status timeout.
"""
import time

import numpy as np


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    time.sleep(10**6)


RATE = 0.01
