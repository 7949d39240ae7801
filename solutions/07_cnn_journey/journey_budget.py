"""The grader's own models, data and training for 07_cnn_journey.

Two halves, one module, so the suite (``test_07_cnn_journey.py``) and the calibration
(``python hidden_calibrate.py``, docs/CALIBRATION.md) run exactly the same code:

* **Trusted side** (the suite, the calibration): :func:`mnist_subset` picks MNIST images
  with a seed; :func:`stop_model` and :func:`journey_model` build the grader's CNNs with
  seeded weights; :func:`expected_layer_outputs` is the grader's own computation of every
  Conv2D / MaxPooling2D output of a model.
* **Worker side**: :func:`train_with_callback` and :func:`model_from_description` are shipped
  to the worker as probe helpers (``submission.probe(..., helpers=[journey_budget])``): the
  student's callback can only run there. Module level imports nothing but numpy, so the
  source runs in a probe's scope as it is. Nothing here is secret: the worker sees it.
"""

from __future__ import annotations

import time

import numpy as np

THRESHOLD = 0.998  # the lesson's: stop once the training accuracy is above 99.8%
MESSAGE = "Reached 99.8% accuracy so cancelling training!"

# The journey models: name -> layers. "lesson" is the lesson's CNN (two convolution +
# pooling pairs, then the classifier); "other" has a different number, order and size of
# convolution / pooling layers, so a function that assumes the lesson's layout (the first
# four layers) does not fit it; "single" has one convolution and no pooling: its activation
# model has one output, which Keras returns as one array, not as a list of one.
JOURNEY_LAYERS = {
    "lesson": [("Conv2D", 32, 3), ("MaxPooling2D", 2), ("Conv2D", 64, 3), ("MaxPooling2D", 2),
               ("Flatten",), ("Dense", 128, "relu"), ("Dense", 10, "softmax")],
    "other": [("Conv2D", 8, 3), ("Conv2D", 16, 5), ("MaxPooling2D", 2), ("Conv2D", 12, 3),
              ("MaxPooling2D", 3), ("Flatten",), ("Dense", 10, "softmax")],
    "single": [("Conv2D", 4, 3), ("Flatten",), ("Dense", 10, "softmax")],
}
JOURNEY_KINDS = ("Conv2D", "MaxPooling2D")  # the layers whose outputs layer_outputs returns


# --------------------------------------------------------------------------- trusted side


def mnist_subset(samples: int, seed: int, test: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` MNIST images (uint8, (N, 28, 28)) and labels chosen with ``seed``, from
    the training set (or the test set with ``test=True``), in their order in the set."""
    from grader.datasets import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist()
    x, y = (x_test, y_test) if test else (x_train, y_train)
    index = np.sort(np.random.default_rng(seed + int(test)).permutation(len(x))[:samples])
    return np.array(x[index]), np.array(y[index], dtype=np.int64)


def normalize(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 28, 28, 1) float32 in [0, 1]."""
    return (np.asarray(images, dtype=np.float32) / np.float32(255.0))[..., np.newaxis]


def _build(spec: list[tuple], seed: int):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    stack, seen = [keras.Input(shape=(28, 28, 1))], {}
    for kind, *args in spec:
        # Keras' own names, numbered within the model (not by a process-wide counter), so a
        # message names the same layer whatever was built before in this process
        base = {"Conv2D": "conv2d", "MaxPooling2D": "max_pooling2d"}.get(kind, kind.lower())
        name = base if base not in seen else f"{base}_{seen[base]}"
        seen[base] = seen.get(base, 0) + 1
        if kind == "Conv2D":
            stack.append(layers.Conv2D(args[0], (args[1], args[1]), activation="relu", name=name))
        elif kind == "MaxPooling2D":
            stack.append(layers.MaxPooling2D(args[0], args[0], name=name))
        elif kind == "Flatten":
            stack.append(layers.Flatten(name=name))
        else:
            stack.append(layers.Dense(args[0], activation=args[1], name=name))
    return keras.Sequential(stack, name="grader_cnn")


def stop_model(seed: int):
    """The CNN the grader trains with the student's callback: one convolution and pooling
    pair and a small classifier (the lesson's MNIST CNN, narrower so that an epoch of the
    CPU budget takes a fraction of a second)."""
    return _build([("Conv2D", 16, 3), ("MaxPooling2D", 2), ("Flatten",), ("Dense", 64, "relu"),
                   ("Dense", 10, "softmax")], seed)


def journey_model(name: str, seed: int):
    """One of :data:`JOURNEY_LAYERS`, weights drawn from ``seed``."""
    return _build(JOURNEY_LAYERS[name], seed)


def describe(model) -> dict:
    """A model as probe arguments: its config (JSON) and weights (plain arrays)."""
    return {"config": model.to_json(), "weights": [np.asarray(w) for w in model.get_weights()]}


def journey_layers(model) -> list:
    """The model's Conv2D and MaxPooling2D layers, in order."""
    return [layer for layer in model.layers if type(layer).__name__ in JOURNEY_KINDS]


def expected_layer_outputs(model, images: np.ndarray) -> list[np.ndarray]:
    """The grader's own layer_outputs: every Conv2D / MaxPooling2D output for ``images``."""
    import keras

    wanted = journey_layers(model)
    activations = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in wanted])
    found = activations.predict(np.asarray(images, dtype=np.float32), verbose=0)
    found = found if isinstance(found, (list, tuple)) else [found]
    return [np.asarray(a, dtype=np.float32) for a in found]


# --------------------------------------------------------------------------- worker side too


def student_line(exc: BaseException) -> str:
    """' (line N: code)' of the student's last frame (a cell) in ``exc``'s traceback, or ''."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    if not frames:
        return ""
    code = (frames[-1].line or "").strip()
    return f" (line {frames[-1].lineno}" + (f": {code})" if code else ")")



def model_from_description(description: dict, built: bool = True):
    """The model :func:`describe` described. ``built=False``: the same layers (weights set)
    in a new Sequential without an Input that has never been called: it has no ``inputs``
    until something builds it."""
    import keras

    model = keras.models.model_from_json(description["config"])
    model.set_weights(description["weights"])
    if built:
        return model
    # new layers (a layer of ``model`` would keep ``model``'s graph as its ``output``), each
    # built on its own with the weights set: the Sequential itself stays unbuilt
    fresh, shape = [], tuple(model.inputs[0].shape)
    for layer in model.layers:
        copy = type(layer).from_config(layer.get_config())
        copy.build(shape)
        copy.set_weights(layer.get_weights())
        shape = copy.compute_output_shape(shape)
        fresh.append(copy)
    return keras.Sequential(fresh)


def train_with_callback(description: dict, x: np.ndarray, y: np.ndarray, callback, *, epochs: int,
                        batch_size: int, seed: int) -> dict:
    """Train the described model (adam, sparse categorical cross-entropy, accuracy) on
    ``x`` (uint8 images, normalized here) for at most ``epochs`` epochs with ``callback``
    (None: no callback); the History's numbers, the epochs run and the seconds."""
    import keras

    model = model_from_description(description)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    history = model.fit(normalize(x), np.asarray(y), epochs=int(epochs), batch_size=int(batch_size),
                        shuffle=True, verbose=0, callbacks=[] if callback is None else [callback])
    return {"history": {str(k): [float(v) for v in vs] for k, vs in history.history.items()},
            "epochs_run": len(history.epoch), "seconds": time.perf_counter() - start}
