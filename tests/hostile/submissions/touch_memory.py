"""Touches shared anonymous memory page by page (not counted by RLIMIT_DATA): the watchdog sees
the resident set pass the limit and kills the worker. scale was right: 2/8, status memory.
"""
import mmap

import numpy as np


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    chunks = []
    while True:
        block = mmap.mmap(-1, 64 * 1024**2, flags=mmap.MAP_SHARED)
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        chunks.append(block)


RATE = 0.01
