"""Closes stdin, stdout and stderr at import, then writes to them. Honest without a model: 4/8."""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import os
import sys

import numpy as np

for fd in (0, 1, 2):
    try:
        os.close(fd)
    except OSError:
        pass
print("nobody reads this")
try:
    sys.__stdout__.write("nor this\n")
    sys.__stdout__.flush()
except (OSError, ValueError):
    pass


def scale(x):
    print("printing after stdout was closed")
    return x / np.max(np.abs(x))


def predict_labels(probs):
    try:
        os.write(1, b"raw write to a closed fd\n")
    except OSError:
        pass
    return np.argmax(probs, axis=1)


RATE = 0.01
