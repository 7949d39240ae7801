"""os._exit(0) inside a graded function: the worker is gone, the rest is not graded (status error).
RATE would be right, but its check comes after the exit: 0/8.
"""
import os


def scale(x):
    os._exit(0)


RATE = 0.01
