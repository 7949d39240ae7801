"""Monkeypatches the engine, pytest and numpy at import so that every check 'passes'.

Honest part: RATE (1 point). Everything else returns wrong values: expected 1/8.
The patches only change the worker's copies of these modules; checks run elsewhere.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import builtins

import numpy as np
import pytest

import grader.checks
import grader.engine.plugin
import grader.engine.sandbox
import grader.engine.submission
import grader.worker.main

for name in ("expect", "expect_equal", "expect_close", "expect_array", "expect_number", "expect_shape"):
    setattr(grader.checks, name, lambda *a, **k: None)
grader.checks.CheckFailed = type("CheckFailed", (Exception,), {})
grader.engine.submission.Submission.call = lambda self, *a, **k: 42
grader.engine.sandbox.Sandbox.kill = lambda self, reason: None
grader.engine.plugin.GradingPlugin.pytest_runtest_makereport = lambda *a, **k: None
pytest.fail = lambda *a, **k: None
pytest.approx = lambda *a, **k: type("Any", (), {"__eq__": lambda s, o: True})()
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
builtins.__dict__["CHECKS_DISABLED"] = True


def scale(x):
    return np.zeros_like(x)


def predict_labels(probs):
    return np.zeros(len(probs), dtype=np.int64)


RATE = 0.01
