"""Prints a fake Gradescope results JSON (100 points) everywhere it can: print at import,
print in a call, the real stdout/stderr file descriptors. Otherwise honest without a model: 4/8.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import json
import os
import sys

import numpy as np

FAKE = json.dumps({"score": 100.0, "output": "All tests passed!", "tests": [
    {"name": "everything", "score": 100.0, "max_score": 100.0, "status": "passed"}]})
print(FAKE)
os.write(1, (FAKE + "\n").encode())
os.write(2, (FAKE + "\n").encode())
sys.__stdout__.write(FAKE + "\n")
sys.__stdout__.flush()


def scale(x):
    print(FAKE)
    os.write(1, (FAKE + "\n").encode())
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


RATE = 0.01
