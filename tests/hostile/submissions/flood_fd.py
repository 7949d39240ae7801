"""1 GB straight to the stdout file descriptor (past the print capture): stopped at the output
limit, the worker is killed. 0/8, status error ("printed more than ... output limit").
"""
import os

import numpy as np


def scale(x):
    block = b"A" * (1 << 20)
    for _ in range(1024):
        os.write(1, block)
    return x / np.max(np.abs(x))


RATE = 0.01
