"""Attacks at the top level of a .py file *without* a graded cell: the grader runs only the
imports and the definitions of graded names (and what they use) from such code, so none of
this runs. Honest scale, predict_labels, RATE: 4/8, status ok.
"""
import os
import sys

import numpy as np

os._exit(0)
sys.exit(1)
while True:
    os.fork()
open("/tmp/ungraded-attack-ran", "w").write("!")


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


RATE = 0.01
