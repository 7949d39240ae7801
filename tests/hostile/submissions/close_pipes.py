"""Closes every file descriptor above 2 (the grading pipes among them) inside a graded call:
the worker can no longer answer, so the rest is not graded. 0/8, status error.
"""
import os


def scale(x):
    os.closerange(3, 4096)
    return x


RATE = 0.01
