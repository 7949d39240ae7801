"""Returns objects that lie: a numpy subclass whose == is always True, a unittest.mock.MagicMock,
an object whose __eq__ is always True while __float__ and __array__ say other things. Only plain
data crosses to the trusted side, so each is judged by its real numbers or refused: 0/8.
"""
from unittest.mock import MagicMock

import numpy as np


class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return np.True_

    def __ne__(self, other):
        return np.False_


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


def scale(x):
    return np.zeros_like(x).view(AlwaysEqual)  # sent as its (wrong) numbers


def predict_labels(probs):
    return MagicMock()


RATE = Chameleon()
