"""Patches numpy, pytest and the engine from *inside* graded calls, then returns wrong values.

After predict_labels has replaced the worker's request handler, every later reply (RATE's too)
is a forged "ok, 1.0": expected 0/8, the forgery costs the submission its honest RATE.
"""
import numpy as np


def scale(x):
    import pytest

    import grader.checks
    import grader.engine.plugin

    np.allclose = lambda *a, **k: True
    try:
        np.ndarray.__eq__ = lambda self, other: True  # refused: a builtin type
    except TypeError:
        pass
    grader.checks.expect_array = lambda found, expected, **k: found
    grader.engine.plugin.GradingPlugin.pytest_runtest_makereport = lambda *a, **k: None
    pytest.skip = pytest.fail = lambda *a, **k: None
    return x * 0


def predict_labels(probs):
    import sys

    import grader.worker.main

    # make every later reply claim success: the running worker is `python -m grader.worker.main`,
    # so its class lives in __main__ (grader.worker.main is a second copy): patch both
    forged = lambda self, request: {"ok": True, "value": 1.0, "stdout": "", "seconds": 0.0}  # noqa: E731
    grader.worker.main.Worker.call = forged
    worker_class = getattr(sys.modules["__main__"], "Worker", None)
    if worker_class is not None:
        worker_class.call = forged
    return np.ones(len(probs), dtype=np.int64) * 7


RATE = 0.01
