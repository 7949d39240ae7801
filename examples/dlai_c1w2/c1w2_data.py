"""The MNIST images the grader gives train_mnist (trusted side; shared by the suite and
calibrate.py, so calibration measures what grading does)."""

from __future__ import annotations

import numpy as np


def mnist_subset(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` training images scaled to [0, 1] (float32, (N, 28, 28)) and their labels,
    chosen with ``seed``: what the notebook's data cell gives train_mnist, smaller."""
    from grader.datasets import load_mnist

    (x_train, y_train), _ = load_mnist()
    index = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:samples])
    return (x_train[index] / np.float32(255.0)).astype(np.float32), np.array(y_train[index])
