"""Mutation catalogue of the demo assignment (`grader mutants demo`; docs/AUTHORING.md,
"Measuring a suite"). Never released to students: `grader release` copies no hidden_* file.

Built for tests/unit/course/test_mutants.py: one mistake of each kind the tool tells apart.
"""

MISTAKES = [
    # killed, and the suite's message names it ("Likely mistake: you multiplied")
    {"name": "multiplied", "replaces": "add", "expect": ["multiplied"],
     "source": "def add(a, b):\n    return a * b\n"},
    # killed, but no message says that the axis was ignored
    {"name": "ignores_axis", "replaces": "mean", "expect": ["ignored", "axis"],
     "source": "def mean(x, axis=None):\n    return np.mean(x)\n"},
    # full marks and the same results on every input: an equivalent mutant
    {"name": "commuted", "replaces": "add", "expect": [],
     "source": "def add(a, b):\n    return b + a\n"},
    # full marks, yet wrong on arrays larger than any the suite tries: a survivor
    {"name": "small_arrays_only", "replaces": "mean", "expect": ["large"],
     "source": "def mean(x, axis=None):\n    return np.mean(x, axis=axis) if np.size(x) < 100 else 0.0\n"},
]


def inputs_add(rng):
    for _ in range(200):
        yield int(rng.integers(-10**6, 10**6)), int(rng.integers(-10**6, 10**6))
    for _ in range(100):
        yield float(rng.normal(0, 1e3)), float(rng.normal(0, 1e3))


def inputs_mean(rng):
    for _ in range(100):
        n = int(rng.integers(1, 500))
        yield (rng.normal(0, 10, size=n),)
        yield rng.normal(0, 10, size=(n, 3)), int(rng.integers(0, 2))
