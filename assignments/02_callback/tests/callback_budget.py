"""Data and consistency checks for ``train_mnist`` (trusted side only).

``train_mnist`` is given :func:`mnist_subset` (training images); the History's model is
measured on :func:`mnist_heldout` (test images, never sent to the worker) and must come
close to the History's last training accuracy (``heldout_margin``, docs/CALIBRATION.md).

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


def mnist_heldout(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` MNIST *test* images and labels (all 10,000 when ``samples`` is at least
    that), chosen with ``seed``: images the worker is never given, so a model that memorised
    the images it was given (a lookup table) is measured on what it did not see."""
    from grader.datasets import load_mnist

    _, (x_test, y_test) = load_mnist()
    if samples < len(x_test):
        index = np.sort(np.random.default_rng(seed + 1).permutation(len(x_test))[:samples])
        return np.array(x_test[index]), np.array(y_test[index])
    return np.array(x_test), np.array(y_test)


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
