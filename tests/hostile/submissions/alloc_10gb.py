"""Asks numpy for 10 GB: refused by the memory rlimit (MemoryError), the worker lives on.
predict_labels and RATE are right: 2/8, status memory.
"""
import numpy as np


def scale(x):
    big = np.ones(10 * 1024**3 // 8)
    return x / big.max()


def predict_labels(probs):
    return np.argmax(probs, axis=1)


RATE = 0.01
