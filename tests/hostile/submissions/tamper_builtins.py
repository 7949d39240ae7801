"""Replaces builtins (isinstance, len, float, round, abs, print, open) at import.

Honest parts: scale, predict_labels, RATE computed before the patch... but the patched
builtins run inside the worker's own encoder too. Whatever arrives is judged as data.
"""
import builtins

import numpy as np

_real_isinstance = builtins.isinstance

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
