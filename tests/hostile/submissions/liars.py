"""Returns objects that lie: __eq__ always True, __float__/__array__ that disagree with the
value, a numpy subclass, a unittest.mock.MagicMock. None of them is plain data or right: 0/8.
"""
from unittest.mock import MagicMock

import numpy as np


class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return np.True_

    def __ne__(self, other):
        return np.False_

    def __array_finalize__(self, obj):
        pass


class Chameleon:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __float__(self):
        return 0.01

    def __array__(self, dtype=None, copy=None):
        return np.zeros((2, 2))

    def __len__(self):
        return 2


class LyingFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def scale(x):
    return np.zeros_like(x).view(AlwaysEqual)  # a subclass: sent as its (wrong) numbers


def predict_labels(probs):
    return MagicMock()


def make_model(units):
    return Chameleon()


RATE = LyingFloat(0.5)  # crosses as 0.5, the truth
