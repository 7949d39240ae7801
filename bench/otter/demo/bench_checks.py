"""Otter-side checks of the engine's demo assignment (tests/course/demo; bench smoke test only).

Mirrors tests/course/demo/test_demo.py with the CPU profile's size (3).
"""

import numpy as np

QUESTIONS = [  # (name, points, hidden)
    ("test_add_small", 1, False),
    ("test_add_random", 2, True),
    ("test_mean", 2, False),
    ("test_mean_keeps_input", 1, False),
    ("test_answer", 1, False),
]


def run(name, ns):
    globals()[name](ns)
    return True


def test_add_small(ns):
    assert ns["add"](2, 3) == 5


def test_add_random(ns):
    a, b = (int(x) for x in np.random.default_rng(7).integers(-1000, 1000, 2))
    assert ns["add"](a, b) == a + b


def test_mean(ns):
    x = np.arange(3, dtype=np.float64)
    assert abs(float(ns["mean"](x)) - float(x.mean())) < 1e-6


def test_mean_keeps_input(ns):
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    found = ns["mean"](x, axis=1)
    assert isinstance(found, np.ndarray) and found.shape == (2,) and np.allclose(found, x.mean(axis=1))


def test_answer(ns):
    value = ns["ANSWER"]
    assert value is not Ellipsis and not isinstance(value, bool) and value == 42
