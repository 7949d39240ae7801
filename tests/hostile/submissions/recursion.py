"""Recursion past the limit: a RecursionError (a failed check), then a recursion limit raised
to 10**9 so the C stack overflows and the worker crashes (SIGSEGV). 0/8, status error.
"""
import sys


def _down(n):
    return _down(n + 1) + 1


def scale(x):
    return _down(0)


def predict_labels(probs):
    sys.setrecursionlimit(10**9)
    return _down(0)


RATE = 0.01
