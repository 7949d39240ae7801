"""Replaces builtins (isinstance, len, float, abs, round, print, open) at import, in a graded cell.

The worker's own code runs on the same builtins, so the lie can change what the worker
*reports*, never how the trusted side judges it (RATE is 0.5 while float() now answers 0.01).
Here the lies break the worker itself: it stops while its cells are run. 0/8, status error.
"""
# %%
# GRADED: all of it
import builtins

import numpy as np

builtins.isinstance = lambda obj, cls: True
builtins.len = lambda obj: 0
builtins.float = lambda *a: 0.01
builtins.abs = lambda x: x
builtins.round = lambda *a, **k: 0
builtins.print = lambda *a, **k: None
builtins.open = lambda *a, **k: (_ for _ in ()).throw(PermissionError("no"))


def scale(x):
    return np.zeros((2, 2))


def predict_labels(probs):
    return np.zeros(6, dtype=np.int64)


RATE = 0.5
