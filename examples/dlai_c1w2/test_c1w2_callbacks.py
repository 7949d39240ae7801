"""Grading suite of c1w2_callbacks: DeepLearning.AI Course 1, Week 2 (v4 API), as students
already have it (examples/dlai_c1w2/, docs/AUTHORING.md "Adopting an existing course").

The notebook's graded cells load MNIST from ``data/mnist.npz`` beside the notebook (the
course declares that file: the worker sees it read-only there), scale it and set
``data_shape``; ``create_and_compile_model()`` returns the compiled dense model;
``EarlyStoppingCallback`` (``myCallback`` in the 2022 template: an alias in the config)
stops training at 98% training accuracy; ``train_mnist(x_train, y_train)`` trains for at
most 10 epochs with it and returns the History. Students write tf.keras or keras, and
``tf.nn.relu`` / ``tf.nn.softmax`` as freely as the Keras names.

The callback is observed without training (a probe calls ``on_epoch_end`` with logs chosen
here on a tiny real model); ``train_mnist`` is run on the profile's MNIST subset, its History
checked, and (hidden) its model evaluated here on the same images.
"""

from __future__ import annotations

import re

import pytest

from grader.checks import CheckFailed, expect
from grader.checks import check_layers, compile_problems, describe_layers, spec

CLASS = "EarlyStoppingCallback"
MESSAGE = "Reached 98% accuracy so cancelling training!"
LAYERS = [
    spec("Flatten", (784,), 0),
    spec("Dense", (512,), 401920, "relu", units=512),
    spec("Dense", (10,), 5130, "softmax", units=10),
]

# --------------------------------------------------------------------------- probes (worker)


def probe_data(ns):
    """In the worker: what the data cell left behind (no array crosses: 60,000 images)."""
    import numpy as np

    found = {}
    for name in ("x_train", "y_train"):
        value = ns.get(name)
        if isinstance(value, np.ndarray):
            found[name] = {"shape": list(value.shape), "max": float(value.max()) if value.size else 0.0,
                           "dtype": str(value.dtype)}
    return found


def probe_class(ns, name):
    """In the worker: is the callback a keras Callback class, with which hooks."""
    import inspect

    import keras

    cls = ns.get(name)
    info = {"is_class": inspect.isclass(cls), "is_callback": False, "hooks": [], "init_error": None}
    if not info["is_class"]:
        info["type"] = type(cls).__name__
        return info
    info["is_callback"] = issubclass(cls, keras.callbacks.Callback)
    for klass in cls.__mro__:
        if klass.__module__.startswith(("keras", "tensorflow", "builtins")):
            break
        info["hooks"] += sorted(k for k in vars(klass) if k.startswith("on_"))
    try:
        cls()
    except Exception as exc:  # noqa: BLE001 - reported as text
        info["init_error"] = f"{type(exc).__name__}: {exc}"
    return info


def probe_epoch_end(ns, name, cases):
    """In the worker: a fresh callback on a fresh tiny model gets ``on_epoch_end(0, logs)``
    for each logs dict; whether it stopped training, what it printed, what it raised."""
    import contextlib
    import io
    import traceback

    import keras

    seen = []
    for logs in cases:
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
        model.stop_training = False
        out = io.StringIO()
        error = None
        try:
            with contextlib.redirect_stdout(out):
                callback = ns[name]()
                callback.set_model(model)
                callback.on_epoch_end(0, dict(logs))
        except Exception as exc:  # noqa: BLE001 - reported as text
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != "<probe>"]
            where = f" (line {frames[-1].lineno}: {(frames[-1].line or '').strip()})" if frames else ""
            error = f"{type(exc).__name__}: {exc}{where}"
        seen.append({"stop": model.stop_training is True, "stdout": out.getvalue()[:2000], "error": error})
    return seen


# --------------------------------------------------------------------------- the data


@pytest.mark.points(1)
@pytest.mark.target("data")
def test_data(submission):
    """data: MNIST loaded from data/mnist.npz, scaled to [0, 1]; data_shape"""
    shape = submission.value("data_shape")  # when the data cell failed: says where and why
    found = submission.probe(probe_data)
    expect(isinstance(found, dict) and "x_train" in found,
           "x_train is not an array after your data cell ran: load it with "
           "np.load(data_path) and data['x_train'] (the file data/mnist.npz is beside the notebook).")
    x = found["x_train"]
    expect(x["shape"] == [60000, 28, 28], f"x_train has shape {tuple(x['shape'])}; the training images of "
           "data/mnist.npz have shape (60000, 28, 28): load data['x_train'].")
    expect(x["max"] <= 1.0, f"x_train's largest value is {x['max']:g}: normalize the pixels to [0, 1] "
           "(x_train = x_train / 255.0).")
    expect(list(shape or []) == [28, 28], f"data_shape is {shape!r}; it should be the shape of one image, "
           "x_train.shape[1:], that is (28, 28).")


# --------------------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def made(submission):
    """create_and_compile_model() once per submission: the ModelObservation, or the failure."""
    try:
        return submission.model("create_and_compile_model")
    except CheckFailed as exc:
        return exc


def model_of(made):
    if isinstance(made, CheckFailed):
        raise CheckFailed(str(made))
    try:
        return made.model  # rebuilt here from config (safe mode), tf.nn spellings mapped
    except CheckFailed as exc:
        raise CheckFailed(f"create_and_compile_model(): {exc}") from None


@pytest.mark.points(2)
@pytest.mark.target("create_and_compile_model")
def test_model_layers(made):
    """create_and_compile_model: Input(28, 28), Flatten, Dense(512, relu), Dense(10, softmax)"""
    check_layers(model_of(made), LAYERS, what="create_and_compile_model()", input_shape=(28, 28))


@pytest.mark.points(1)
@pytest.mark.target("create_and_compile_model")
def test_model_compile(made):
    """create_and_compile_model: compiled with adam, sparse categorical cross-entropy, accuracy"""
    model = model_of(made)
    rows = describe_layers(model)
    problems = compile_problems(made.compile_config, optimizer="adam", loss="sparse_categorical_crossentropy",
                                metrics=["accuracy"], output_activation=rows[-1].activation if rows else None)
    if problems:
        items = "\n".join(f"- {p}" for p in problems)
        raise CheckFailed(f"create_and_compile_model(): the compile settings differ from the specification:\n{items}")


# --------------------------------------------------------------------------- the callback


def observe(submission, cases):
    found = submission.probe(probe_epoch_end, CLASS, cases)
    expect(isinstance(found, list) and len(found) == len(cases), f"{CLASS} could not be observed.")
    return found


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_class(submission):
    """EarlyStoppingCallback: a tf.keras.callbacks.Callback with on_epoch_end"""
    info = submission.probe(probe_class, CLASS)
    expect(info["is_class"], f"{CLASS} should be a class, found a {info.get('type')}.")
    expect(info["is_callback"], f"{CLASS} does not inherit from tf.keras.callbacks.Callback, so fit() "
           f"refuses it: class {CLASS}(tf.keras.callbacks.Callback).")
    expect(info["init_error"] is None, f"{CLASS}() failed: {info['init_error']}.")
    expect("on_epoch_end" in info["hooks"],
           f"{CLASS} defines {', '.join(info['hooks']) or 'no on_... method'}: the check belongs in "
           "on_epoch_end(self, epoch, logs=None), which Keras calls after each epoch with its logs.")


ACCURACIES = (0.975, 0.98, 0.981, 0.99, 0.995)


@pytest.mark.points(2)
@pytest.mark.target(CLASS)
def test_callback_threshold(submission):
    """EarlyStoppingCallback: stops once the training accuracy reaches 0.98, not before"""
    cases = [{"loss": 0.05, "accuracy": a} for a in ACCURACIES]
    found = observe(submission, cases)
    errors = [s["error"] for s in found if s["error"]]
    if errors:
        hint = ""
        if "KeyError: 'acc'" in errors[0]:
            hint = (" Likely mistake: your callback reads logs['acc'], the Keras 2 name; a model compiled "
                    "with metrics=['accuracy'] logs the key 'accuracy'.")
        raise CheckFailed(f"{CLASS}().on_epoch_end(0, logs={cases[0]!r}) raised {errors[0]}.{hint}")
    stops = [s["stop"] for s in found]
    if stops == [False, True, True, True, True]:
        return
    what = ", ".join(f"{a}: {'stops' if s else 'goes on'}" for a, s in zip(ACCURACIES, stops, strict=True))
    if stops[0]:
        hint = "it stops below 0.98: the comparison is too loose, or the threshold is wrong."
    elif not stops[1] and stops[2]:
        hint = "Likely mistake: '>' instead of '>=': reaching 0.98 counts."
    elif not any(stops[:3]) and any(stops[3:]):
        hint = ("Likely mistake: the threshold is 0.99 (an older version of this assignment); this one "
                "stops at 0.98.")
    elif not any(stops):
        acc = observe(submission, [{"loss": 0.01, "acc": 0.999}])[0]
        hint = ("Likely mistake: your callback reads logs.get('acc'), the Keras 2 name; a model compiled "
                "with metrics=['accuracy'] logs the key 'accuracy'." if acc["stop"] else
                "It never sets self.model.stop_training = True.")
    else:
        hint = "compare logs['accuracy'] >= 0.98 and then set self.model.stop_training = True."
    raise CheckFailed(f"{CLASS}: with logs['accuracy'] at {what}; it should stop from 0.98 on. {hint}")


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_message(submission):
    """EarlyStoppingCallback: prints 'Reached 98% accuracy so cancelling training!' when it stops"""
    seen, below = observe(submission, [{"loss": 0.02, "accuracy": 0.995}, {"loss": 0.1, "accuracy": 0.9}])
    if seen["error"]:
        raise CheckFailed(f"{CLASS}().on_epoch_end(0, logs={{'accuracy': 0.995}}) raised {seen['error']}.")
    printed = seen["stdout"].strip()
    if MESSAGE not in [line.strip() for line in seen["stdout"].splitlines()]:
        hint = ""
        if "Reached 99% accuracy" in printed:
            hint = " Likely mistake: the message of an older version (99%); this one stops at 98%."
        elif MESSAGE.lower() in printed.lower():
            hint = " Check the capitals: print exactly this sentence on its own line."
        elif not printed:
            hint = " Nothing was printed."
        raise CheckFailed(f"{CLASS} should print {MESSAGE!r} when it stops; it printed {printed[:300]!r}.{hint}")
    expect("Reached" not in below["stdout"], f"{CLASS} printed {below['stdout'].strip()!r} at accuracy 0.9: "
           "print the message only when you stop training.")


# --------------------------------------------------------------------------- train_mnist


@pytest.fixture(scope="module")
def mnist_data(profile, course_seed):
    import c1w2_data  # beside this suite

    return c1w2_data.mnist_subset(int(profile["train_samples"]), course_seed)


@pytest.fixture(scope="module")
def trained(submission, mnist_data):
    """train_mnist run once per submission: the HistoryObservation, or the failed check."""
    x, y = mnist_data
    try:
        return submission.history("train_mnist", x, y)
    except CheckFailed as exc:
        message = str(exc)
        if "logits and labels must have the same" in message or "Arguments `target` and `output` must have the same" in message:
            message += (" Likely mistake: loss='categorical_crossentropy' expects one-hot labels; the MNIST "
                        "labels are digits 0..9: loss='sparse_categorical_crossentropy'.")
        if "KeyError: 'acc'" in message:
            message += " Likely mistake: your callback reads logs['acc']; Keras 3 logs 'accuracy'."
        return CheckFailed(message)


def history_of(trained):
    if isinstance(trained, CheckFailed):
        raise CheckFailed(str(trained))
    return trained


@pytest.mark.points(3)
@pytest.mark.target("train_mnist")
def test_train_mnist_history(trained, profile, feedback):
    """train_mnist: at most 10 epochs, stops once the training accuracy reaches 0.98"""
    found = history_of(trained)
    limit, target = int(profile["max_epochs"]), float(profile["target_accuracy"])
    if "accuracy" not in found.history:
        raise CheckFailed(f"train_mnist: the History has no 'accuracy' (its keys: {sorted(found.history)}): "
                          "compile the model with metrics=['accuracy']"
                          + (" (not 'acc', the Keras 2 habit)." if "acc" in found.history else "."))
    accuracy = found.history["accuracy"]
    series = {"your train_mnist": accuracy}
    if profile.get("reference_accuracy"):
        series["the reference"] = list(profile["reference_accuracy"])
    feedback.curves(f"training accuracy per epoch (the callback should stop once it reaches {target:g})",
                    series, ylabel="training accuracy", threshold=target, threshold_label=f"stop here: {target:g}")
    planned = found.params.get("epochs")
    ran = len(found.epoch) or len(accuracy)
    expect(isinstance(planned, int) and planned <= limit,
           f"train_mnist: fit() was asked for {planned} epochs; at most {limit} are allowed (epochs={limit}).")
    expect(ran > 0, "train_mnist: the History records no epoch.")
    expect(accuracy[-1] >= target, f"train_mnist: after {ran} epochs the training accuracy is {accuracy[-1]:.4f}; "
           f"it should reach {target}.")
    first = next((i for i, a in enumerate(accuracy) if a >= target), None)
    expect(first == ran - 1,
           f"train_mnist: the training accuracy reached {target} at epoch {(first or 0) + 1} but training went "
           f"on to epoch {ran}: pass callbacks=[{CLASS}()] to fit(), and make the callback stop at {target}.")


@pytest.mark.points(1)
@pytest.mark.target("train_mnist")
def test_train_mnist_message(trained):
    """train_mnist: the callback announces the stop"""
    found = history_of(trained)
    expect(re.search(r"^\s*Reached 98% accuracy so cancelling training!", found.stdout, re.MULTILINE) is not None,
           f"train_mnist did not print {MESSAGE!r}: train with the callback, fit(..., callbacks=[{CLASS}()]).")


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("train_mnist")
def test_train_mnist_model_agrees(trained, mnist_data, profile):
    """train_mnist: the History's model really has the accuracy the History reports"""
    import numpy as np

    found = history_of(trained)
    expect(found.model is not None, "train_mnist returned a History without a model: return what "
           "model.fit(...) returns.")
    accuracy = found.history.get("accuracy") or []
    expect(bool(accuracy), "train_mnist: the History records no accuracy.")
    x, y = mnist_data
    model = found.model.model  # rebuilt here from config (safe mode)
    scores = np.asarray(model.predict(x, batch_size=2000, verbose=0))
    measured = float(np.mean(np.argmax(scores, axis=1) == y)) if scores.ndim == 2 else 0.0
    margin = float(profile["consistency_margin"])
    expect(measured >= accuracy[-1] - margin,
           f"train_mnist: the History reports a final training accuracy of {accuracy[-1]:.4f}, but its model "
           f"classifies {measured:.4f} of the same {len(y):,} images correctly. Return the History that "
           "model.fit(...) returned for the model you trained.")
