"""1 GB printed inside a graded call: the capture keeps a bounded head and tail, the call's
result still counts. Honest without a model: 4/8, status ok.
"""
import numpy as np


def scale(x):
    line = "B" * (1 << 20)
    for _ in range(1024):
        print(line)
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


RATE = 0.01
