import numpy as np


def add(a, b):
    return a + b


def mean(x, axis=None):
    return np.mean(x, axis=axis)


ANSWER = 6 * 7

if __name__ == "__main__":
    for epoch in range(100):
        pass
