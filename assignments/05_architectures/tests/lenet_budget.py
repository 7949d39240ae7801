"""The grader's own training of the LeNet-style model a submission built (trusted side only).

Shared by the grading suite (``test_05_architectures.py``) and ``hidden_calibrate.py`` (both
beside this file), so the calibrated threshold measures exactly what grading does: a fresh
copy of the submitted architecture (new random weights from ``seed``), compiled from the
allow-listed fields of the submission's compile settings, trained on ``train_samples`` MNIST
training images (pixels / 255, a channel axis) for ``epochs`` epochs, and scored on
``val_samples`` MNIST test images: the validation data of the lesson, which never reach the
student's worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class TrainingFailed(Exception):
    """The grader could not train the submitted model; the message says why."""


@dataclass
class Outcome:
    val_accuracy: float  # on the validation (MNIST test) images
    seconds: float  # training + evaluation, wall clock
    history: dict[str, list[float]] = field(default_factory=dict)


def prepare(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 28, 28, 1) float32 in [0, 1], as the notebook prepares MNIST."""
    return (np.asarray(images, dtype=np.float32) / 255.0)[..., np.newaxis]


def mnist_data(train_samples: int, val_samples: int, seed: int) -> tuple[np.ndarray, ...]:
    """``train_samples`` training images and ``val_samples`` test images (all of a split when
    more are asked), each chosen with ``seed``, prepared by :func:`prepare`."""
    from grader.datasets import load_mnist

    (x_train, y_train), (x_val, y_val) = load_mnist()
    rng = np.random.default_rng(seed)
    if train_samples < len(x_train):
        index = np.sort(rng.permutation(len(x_train))[:train_samples])
        x_train, y_train = x_train[index], y_train[index]
    if val_samples < len(x_val):
        index = np.sort(rng.permutation(len(x_val))[:val_samples])
        x_val, y_val = x_val[index], y_val[index]
    return (prepare(x_train), np.asarray(y_train, dtype=np.int64),
            prepare(x_val), np.asarray(y_val, dtype=np.int64))


def deterministic() -> None:
    """Make TensorFlow's kernels deterministic (same seed, same score)."""
    import tensorflow as tf

    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - an older TensorFlow: scores vary a little more
        pass


def fresh_copy(model: Any, compile_config: dict[str, Any] | None, seed: int) -> Any:
    """A new model with ``model``'s architecture and fresh weights drawn from ``seed``,
    compiled from the allow-listed fields of ``compile_config`` only (``clean_compile_config``:
    no ``run_eagerly``, ``jit_compile``, ``steps_per_execution``)."""
    import keras

    from grader.engine.model_policy import PolicyError, clean_compile_config

    if not compile_config:
        raise TrainingFailed(
            "the model is not compiled, so the grader does not know how to train it: call "
            "model.compile(optimizer=..., loss=..., metrics=[...]) before returning it"
        )
    try:
        compile_config = clean_compile_config(compile_config, "build_lenet")
    except PolicyError as exc:
        raise TrainingFailed(str(exc)) from None
    keras.utils.set_random_seed(seed)
    try:
        copy = keras.models.clone_model(model)
        copy.compile_from_config(compile_config)
    except Exception as exc:  # noqa: BLE001 - anything: explain and fail the check
        raise TrainingFailed(f"the grader could not rebuild and compile the model: "
                             f"{type(exc).__name__}: {exc}") from exc
    return copy


def train_and_validate(model: Any, compile_config: dict[str, Any] | None, *, epochs: int,
                       batch_size: int, seed: int, data: tuple[np.ndarray, ...]) -> Outcome:
    """Train a fresh copy of ``model`` on ``data``'s training part; its validation accuracy.

    The accuracy is computed here from the predictions (arg max over the outputs), so it
    does not depend on which metrics the submission compiled.
    """
    deterministic()
    x_train, y_train, x_val, y_val = data
    start = time.perf_counter()
    copy = fresh_copy(model, compile_config, seed)
    try:
        fit = copy.fit(x_train, y_train, epochs=int(epochs), batch_size=int(batch_size),
                       shuffle=True, verbose=0)
        probabilities = copy.predict(x_val, batch_size=1000, verbose=0)
    except Exception as exc:  # noqa: BLE001
        message = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else ""
        raise TrainingFailed(f"training the model failed: {type(exc).__name__}: {message}") from exc
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[0] != len(y_val):
        raise TrainingFailed(f"the model's output has shape {probabilities.shape[1:]}; "
                             "one score per class, (10,), is needed")
    val_accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_val))
    seconds = time.perf_counter() - start
    history = {k: [float(v) for v in vs] for k, vs in fit.history.items()}
    return Outcome(val_accuracy, seconds, history)
