"""Worker side: a suite's probe observes the student's own calls to Keras' ``Model.fit``.

This module runs only in the untrusted worker. It imports the standard library and, when a
probe enters :func:`record_fit`, Keras; nothing else of ``grader``. Every probe finds
``record_fit`` in its scope, so no probe has to monkeypatch Keras itself:

    def probe_training(ns, x, y):
        with record_fit(max_epochs=3) as fits:       # the grader's budget, not the student's
            history = ns["train_mnist"](x, y)         # the grader's data
        return {"calls": fits.calls, "returned": type(history).__name__}

Each call of ``fit`` is recorded as plain data in ``fits.calls`` (see :meth:`FitRecorder.
_describe`): the epochs asked for and the epochs allowed, the batch size, the number of
samples, the callbacks' classes (a class defined inside a function shows as
``train_mnist.<locals>.myCallback``), whether validation data was given, and, when it
trained, the History's numbers.

With ``train=False`` fit does not train at all: it returns an empty ``History`` at once, and
the probe reaches the objects the student passed (``fits.callbacks``, ``fits.models``), for
example to exercise a callback class that exists only inside the student's function:

    def probe_nested_callback(ns, x, y):
        with record_fit(train=False) as fits:
            ns["train_mnist"](x, y)
        [callback] = fits.callbacks
        callback.on_epoch_end(0, {"accuracy": 0.99})
        return bool(callback.model.stop_training)
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any


class FitRecorder:
    """What :func:`record_fit` saw; ``calls`` is plain data, the rest are live objects."""

    def __init__(self, max_epochs: int | None, train: bool) -> None:
        self.max_epochs = max_epochs
        self.train = train
        self.calls: list[dict[str, Any]] = []
        self.callbacks: list[Any] = []  # every callback object passed to fit, in order
        self.models: list[Any] = []  # the model of each call
        self.histories: list[Any] = []  # what each call returned

    def _describe(self, model: Any, args: dict[str, Any]) -> dict[str, Any]:
        x, callbacks = args.get("x"), list(args.get("callbacks") or [])
        asked = args.get("epochs", 1)
        return {
            "model": type(model).__name__,
            "epochs": asked if isinstance(asked, int) else None,
            "batch_size": args.get("batch_size") if isinstance(args.get("batch_size"), int) else None,
            "samples": _length(x),
            "x_shape": list(getattr(x, "shape", ())) or None,
            "callbacks": [type(c).__qualname__ for c in callbacks],
            "validation": args.get("validation_data") is not None or bool(args.get("validation_split")),
            "verbose": args.get("verbose") if isinstance(args.get("verbose"), (int, str)) else None,
        }


def _length(x: Any) -> int | None:
    try:
        return int(len(x))
    except TypeError:
        return None


def _plain(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@contextlib.contextmanager
def record_fit(max_epochs: int | None = None, train: bool = True) -> Iterator[FitRecorder]:
    """Within the block, every ``Model.fit`` is recorded; ``max_epochs`` caps the epochs a
    call may run (the grader's budget), ``train=False`` runs none and returns an empty
    History. Keras' own ``fit`` is restored when the block ends, whatever happened."""
    import keras

    original = keras.Model.fit
    signature = inspect.signature(original)
    recorder = FitRecorder(max_epochs, train)

    def fit(model: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(model, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        extra = arguments.pop("kwargs", None) or {}  # a **kwargs parameter, if Keras has one
        call = recorder._describe(model, arguments)
        asked = call["epochs"]
        allowed = asked if max_epochs is None or asked is None else min(asked, max_epochs)
        call["epochs_allowed"] = allowed
        callbacks = list(arguments.get("callbacks") or [])
        recorder.callbacks.extend(callbacks)
        recorder.models.append(model)
        recorder.calls.append(call)
        if not train:
            history = keras.callbacks.History()
            history.set_model(model)
            history.params = {"epochs": asked, "steps": None, "verbose": call["verbose"]}
            for callback in callbacks:  # as fit would: the callbacks know their model
                if hasattr(callback, "set_model"):
                    callback.set_model(model)
            call["epochs_run"] = 0
            recorder.histories.append(history)
            return history
        if allowed is not None:
            arguments["epochs"] = allowed
        history = original(**arguments, **extra)
        numbers = getattr(history, "history", None) or {}
        call["epochs_run"] = len(getattr(history, "epoch", []) or [])
        call["history"] = {str(k): [_plain(v) for v in values] for k, values in numbers.items()
                           if isinstance(values, (list, tuple))}
        recorder.histories.append(history)
        return history

    keras.Model.fit = fit
    try:
        yield recorder
    finally:
        keras.Model.fit = original
