"""SystemExit and KeyboardInterrupt raised inside graded functions: failed checks with a hint,
the worker goes on. Honest RATE: 1/8, status ok.
"""
import sys


def scale(x):
    sys.exit(0)


def predict_labels(probs):
    raise KeyboardInterrupt


def make_model(units):
    raise SystemExit(0)


RATE = 0.01
