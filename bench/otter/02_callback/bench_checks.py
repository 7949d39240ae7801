"""Otter-side checks of 02_callback (support file of the otter autograder; bench only).

Each function mirrors the pass/fail condition of the test of the same name in
solutions/02_callback/test_02_callback.py, as an otter author would write it, in the
notebook's kernel (no sandbox): the student's ``AccuracyThresholdCallback`` is attached to
a tiny model and given ``on_epoch_end`` logs just below, at and above thresholds; the
student's ``train_mnist`` is run once on the CPU profile's 10,000 MNIST images (chosen with
the course seed) and its History and model are checked.
"""

import contextlib
import io
import re

import numpy as np

QUESTIONS = [  # (name, points, hidden)
    ("test_callback_is_a_keras_callback", 1, False),
    ("test_callback_default_threshold", 2, False),
    ("test_callback_other_thresholds", 2, True),
    ("test_callback_without_accuracy", 1, False),
    ("test_callback_keras2_acc_key", 1, False),
    ("test_callback_message", 1, False),
    ("test_train_mnist_history", 3, False),
    ("test_train_mnist_uses_callback", 1, False),
    ("test_train_mnist_model_agrees", 1, True),
]

SEED = 20261121  # the course seed (autograder.toml)
BUDGET = {"train_samples": 10000, "max_epochs": 10, "target_accuracy": 0.99}
# the twin keeps the earlier tie of the History to the images it was trained on; our suite now
# evaluates the model on held-out test images (heldout_samples/heldout_margin, docs/CALIBRATION.md)
CONSISTENCY_MARGIN = 0.03
CLASS = "AccuracyThresholdCallback"
_TRAINED = {}


def run(name, ns):
    globals()[name](ns)
    return True


def epoch_end(ns, threshold, logs):
    """A fresh callback on a fresh tiny model gets on_epoch_end(0, logs): (stopped, printed)."""
    import keras

    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.stop_training = False
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        callback = ns[CLASS]() if threshold is None else ns[CLASS](threshold)
        callback.set_model(model)
        callback.on_epoch_end(0, None if logs is None else dict(logs))
    return model.stop_training is True, out.getvalue()


def stops_at(ns, threshold, effective):
    for value in (effective - 0.001, effective, min(effective + 0.005, 1.0)):
        stopped, _ = epoch_end(ns, threshold, {"loss": 0.05, "accuracy": round(value, 6)})
        assert stopped == (round(value, 6) >= effective), \
            f"threshold {threshold}: accuracy {value:.4f} stopped={stopped}"


def test_callback_is_a_keras_callback(ns):
    import inspect

    import keras

    cls = ns[CLASS]
    assert inspect.isclass(cls) and issubclass(cls, keras.callbacks.Callback), "not a keras Callback"
    cls()
    cls(0.5)
    own = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith(("keras", "tensorflow", "builtins")):
            break
        own.update(k for k in vars(klass) if k.startswith("on_"))
    assert "on_epoch_end" in own, "no on_epoch_end"


def test_callback_default_threshold(ns):
    stops_at(ns, None, 0.99)


def test_callback_other_thresholds(ns):
    for threshold in (0.9, 0.75, 0.6):
        stops_at(ns, threshold, threshold)


POSITIVE = {"loss": 0.01, "accuracy": 0.995}  # where the callback must stop (positive control)


def test_callback_without_accuracy(ns):
    for logs in (None, {}, {"loss": 0.02}):
        stopped, _ = epoch_end(ns, None, logs)
        assert not stopped, f"stopped with logs={logs}"
    assert epoch_end(ns, None, POSITIVE)[0], "does not stop at 99.5%: nothing to check yet"


def test_callback_keras2_acc_key(ns):
    stopped, _ = epoch_end(ns, None, {"loss": 0.01, "acc": 0.995})
    assert not stopped, "stopped on the Keras 2 key 'acc'"
    assert epoch_end(ns, None, POSITIVE)[0], "does not stop at 99.5%: nothing to check yet"


def test_callback_message(ns):
    for threshold, accuracy in ((None, 0.995), (0.9, 0.995)):
        effective = 0.99 if threshold is None else threshold
        expected = f"Reached {effective * 100:g}% accuracy so cancelling training!"
        _, printed = epoch_end(ns, threshold, {"loss": 0.02, "accuracy": accuracy})
        assert expected in [line.strip() for line in printed.splitlines()], f"printed {printed!r}"
        _, below = epoch_end(ns, threshold, {"loss": 0.02, "accuracy": effective - 0.05})
        assert "Reached" not in below, "printed the message below the threshold"


# ----------------------------------------------------------------------------- train_mnist


def mnist():
    from grader.datasets import load_mnist

    (x_train, y_train), _ = load_mnist()
    index = np.sort(np.random.default_rng(SEED).permutation(len(x_train))[:BUDGET["train_samples"]])
    return np.array(x_train[index]), np.array(y_train[index])


def trained(ns):
    """train_mnist run once per notebook run on the budget's images: (History, stdout, x, y)."""
    if "result" not in _TRAINED:
        x, y = mnist()
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                history = ns["train_mnist"](x.copy(), y.copy())
            _TRAINED["result"] = (history, out.getvalue(), x, y, None)
        except Exception as exc:  # noqa: BLE001 - every check of train_mnist fails with it
            _TRAINED["result"] = (None, out.getvalue(), x, y, exc)
    history, printed, x, y, error = _TRAINED["result"]
    assert error is None, f"train_mnist raised {type(error).__name__}: {error}"
    assert isinstance(getattr(history, "history", None), dict), "train_mnist did not return a History"
    return history, printed, x, y


def test_train_mnist_history(ns):
    history, _, _, _ = trained(ns)
    accuracy = history.history.get("accuracy")
    assert accuracy, f"no 'accuracy' in the History: {sorted(history.history)}"
    planned = (history.params or {}).get("epochs")
    ran = len(history.epoch) or len(accuracy)
    assert isinstance(planned, int) and planned <= BUDGET["max_epochs"], f"fit(epochs={planned})"
    assert accuracy[-1] >= BUDGET["target_accuracy"], f"last accuracy {accuracy[-1]:.4f}"
    first = next((i for i, a in enumerate(accuracy) if a >= BUDGET["target_accuracy"]), None)
    assert first == ran - 1, "training went on after reaching the target"
    assert ran < planned, "training ran every planned epoch"


def test_train_mnist_uses_callback(ns):
    _, printed, _, _ = trained(ns)
    assert re.search(r"Reached .*accuracy so cancelling training", printed), "no message"


def test_train_mnist_model_agrees(ns):
    history, _, x, y = trained(ns)
    model = getattr(history, "model", None)
    assert model is not None, "the History has no model"
    accuracy = history.history.get("accuracy") or history.history.get("acc") or []
    assert accuracy, "no accuracy in the History"
    best = -1.0
    for factor in (1.0 / 255.0, 1.0):
        scores = np.asarray(model.predict(x.astype(np.float32) * np.float32(factor), batch_size=2000, verbose=0))
        if scores.ndim == 2 and scores.shape[0] == len(y):
            best = max(best, float(np.mean(np.argmax(scores, axis=1) == y)))
    assert best >= accuracy[-1] - CONSISTENCY_MARGIN, \
        f"the model classifies {best:.4f}, the History says {accuracy[-1]:.4f}"
