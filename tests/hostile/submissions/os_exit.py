"""os._exit(0) inside a graded function: the worker is gone, the rest is not graded (status error).
RATE is right and its check runs on a fresh start of the code: 1/8.
"""
import os


def scale(x):
    os._exit(0)


RATE = 0.01
