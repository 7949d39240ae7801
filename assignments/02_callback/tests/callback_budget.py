"""Data and consistency checks for ``train_mnist`` (trusted side only).

Shared by the grading suite (``test_02_callback.py``) and ``bench/calibrate.py`` so the
calibrated numbers (subset size, consistency margin) measure exactly what grading does.
"""

from __future__ import annotations

import numpy as np


def mnist_subset(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` MNIST training images (uint8, (N, 28, 28)) and labels chosen with ``seed``;
    all 60,000 in their order when ``samples`` is at least that."""
    from grader.datasets import load_mnist

    (x_train, y_train), _ = load_mnist()
    if samples < len(x_train):
        index = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:samples])
        return np.array(x_train[index]), np.array(y_train[index])
    return np.array(x_train), np.array(y_train)


# The input scalings a student's train_mnist may have trained on: pixels / 255 (what the
# lesson teaches) or raw 0-255 pixels (a model with its own Rescaling layer, or none).
SCALINGS = {"pixels / 255": 1.0 / 255.0, "raw pixels": 1.0}


def measured_accuracy(model, x: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    """The best accuracy of ``model`` on ``(x, y)`` over :data:`SCALINGS`, and which one.

    Computed from the predictions (arg max), so it does not depend on compiled metrics.
    """
    best, name = -1.0, ""
    for label, factor in SCALINGS.items():
        inputs = x.astype(np.float32) * np.float32(factor)
        scores = np.asarray(model.predict(inputs, batch_size=2000, verbose=0))
        if scores.ndim != 2 or scores.shape[0] != len(y):
            continue
        accuracy = float(np.mean(np.argmax(scores, axis=1) == y))
        if accuracy > best:
            best, name = accuracy, label
    return best, name
