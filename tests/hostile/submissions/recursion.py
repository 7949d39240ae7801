"""Recursion past the limit: a RecursionError (a failed check); then the recursion limit is raised
to 10**9 and the recursion goes through C (map), so the C stack overflows and the worker
crashes with SIGSEGV. 0/8, status error.
"""
import sys


def _down(n):
    return _down(n + 1) + 1


def _c_down(n):
    return list(map(_c_down, [n + 1]))


def scale(x):
    return _down(0)


def predict_labels(probs):
    sys.setrecursionlimit(10**9)
    return _c_down(0)


RATE = 0.01
