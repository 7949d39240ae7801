"""The grader's own training of the model a submission designed (trusted side only).

Shared by the grading suite (``test_06_design_challenge.py``) and ``hidden_calibrate.py``
(both beside this file), so the calibrated thresholds measure exactly what grading does: a
fresh copy of the submitted architecture (new random weights from ``seed``), compiled from
the allow-listed fields of the submission's compile settings, or with :data:`DEFAULT_COMPILE`
when it was returned uncompiled, trained on ``train_samples`` Fashion-MNIST training images
(pixels / 255, a channel axis) for ``epochs`` epochs within ``max_seconds`` of training, and
scored on the 10,000 Fashion-MNIST test images, which never reach the student's worker.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# how the grader compiles a model returned uncompiled (the notebook says so)
DEFAULT_COMPILE = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}


class TrainingFailed(Exception):
    """The grader could not train the submitted model; the message says why."""


class OverTime(TrainingFailed):
    """Training went past the profile's training-time budget and was stopped."""


@dataclass
class Outcome:
    accuracy: float  # on the held-out Fashion-MNIST test images
    seconds: float  # training alone (fit), wall clock
    params: int  # count_params() of the trained copy
    finite: bool  # every training loss and every prediction a finite number
    history: dict[str, list[float]] = field(default_factory=dict)


def prepare(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 28, 28, 1) float32 in [0, 1]: what the grader feeds the model."""
    return (np.asarray(images, dtype=np.float32) / 255.0)[..., np.newaxis]


def fashion_data(train_samples: int, seed: int) -> tuple[np.ndarray, ...]:
    """``train_samples`` training images chosen with ``seed`` (all 60,000 if more are asked)
    and the whole test set (10,000 images), prepared by :func:`prepare`."""
    from grader.datasets import load_fashion_mnist

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    if train_samples < len(x_train):
        index = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:train_samples])
        x_train, y_train = x_train[index], y_train[index]
    return (prepare(x_train), np.asarray(y_train, dtype=np.int64),
            prepare(x_test), np.asarray(y_test, dtype=np.int64))


def deterministic() -> None:
    """Make TensorFlow's kernels deterministic (same seed, same score)."""
    import tensorflow as tf

    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - an older TensorFlow: scores vary a little more
        pass


def fresh_copy(model: Any, compile_config: dict[str, Any] | None, seed: int) -> Any:
    """A new model with ``model``'s architecture and fresh weights drawn from ``seed``, compiled
    from the allow-listed fields of ``compile_config`` (``clean_compile_config``: no
    ``run_eagerly``, ``jit_compile``, ``steps_per_execution``), or with
    :data:`DEFAULT_COMPILE` when ``compile_config`` is empty (the model came uncompiled)."""
    import keras

    from grader.engine.model_policy import PolicyError, clean_compile_config

    if compile_config:
        try:
            compile_config = clean_compile_config(compile_config, "build_model")
        except PolicyError as exc:
            raise TrainingFailed(str(exc)) from None
    keras.utils.set_random_seed(seed)
    try:
        copy = keras.models.clone_model(model)
        if compile_config:
            copy.compile_from_config(compile_config)
        else:
            copy.compile(**DEFAULT_COMPILE)
    except Exception as exc:  # noqa: BLE001 - anything: explain and fail the check
        raise TrainingFailed(f"the grader could not rebuild and compile the model: "
                             f"{type(exc).__name__}: {exc}") from exc
    return copy


def _time_guard(max_seconds: float | None):
    """A Keras callback that stops training once ``max_seconds`` of it have passed."""
    import keras

    class TimeGuard(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.start = time.perf_counter()
            self.stopped = False

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if max_seconds is not None and time.perf_counter() - self.start > max_seconds:
                self.stopped = True
                self.model.stop_training = True

    return TimeGuard()


def train_and_evaluate(model: Any, compile_config: dict[str, Any] | None, *, epochs: int,
                       batch_size: int, seed: int, data: tuple[np.ndarray, ...],
                       max_seconds: float | None = None) -> Outcome:
    """Train a fresh copy of ``model`` on ``data``'s training part; its held-out accuracy.

    Raises :class:`OverTime` when training takes longer than ``max_seconds`` (it is stopped
    there), :class:`TrainingFailed` when it cannot run. The accuracy is computed here from the
    predictions (arg max over the outputs), so it does not depend on the compiled metrics.
    """
    deterministic()
    x_train, y_train, x_test, y_test = data
    copy = fresh_copy(model, compile_config, seed)
    guard = _time_guard(max_seconds)
    start = time.perf_counter()
    try:
        fit = copy.fit(x_train, y_train, epochs=int(epochs), batch_size=int(batch_size),
                       shuffle=True, verbose=0, callbacks=[guard])
        seconds = time.perf_counter() - start
        if guard.stopped:
            raise OverTime(f"training was stopped after {seconds:.0f} s, past this exercise's "
                           f"training-time budget of {max_seconds:g} s ({len(x_train):,} images, "
                           f"{epochs} epoch{'s' * (epochs != 1)}): make the model smaller or cheaper")
        probabilities = copy.predict(x_test, batch_size=1000, verbose=0)
    except TrainingFailed:
        raise
    except Exception as exc:  # noqa: BLE001
        message = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else ""
        raise TrainingFailed(f"training the model failed: {type(exc).__name__}: {message}") from exc
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape != (len(y_test), 10):
        raise TrainingFailed(f"the model's output has shape {probabilities.shape[1:]}; "
                             "one probability per class, (10,), is needed")
    history = {k: [float(v) for v in vs] for k, vs in fit.history.items()}
    finite = bool(np.all(np.isfinite(probabilities))) and all(
        math.isfinite(v) for v in history.get("loss", []))
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test)) if finite else 0.0
    return Outcome(accuracy, seconds, int(copy.count_params()), finite, history)
