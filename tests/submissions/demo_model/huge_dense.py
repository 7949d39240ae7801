"""Hostile (issue 12): a model the trusted side cannot afford to rebuild. The worker builds a
small Conv2D -> Flatten -> Dense(3) model, and the config it sends is forged (``to_json``
patched) to say Dense(400000): 21,632 features x 400,000 units, 8.65 billion parameters,
~35 GB that Keras would allocate when it rebuilds the layer from its build_config. The size is
worked out from the config and refused before Keras allocates anything: a failed check that
says the numbers, graded in seconds, the trusted side's memory barely moves. The layers check
fails too (a Conv2D first); scale, predict_labels, RATE and the compile check are honest: 5/8."""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included: the patch below)
import json

import keras
import numpy as np

UNITS = 400_000


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


def _forged_to_json(self, **kwargs):
    config = json.loads(keras.Model.to_json(self, **kwargs))
    config["config"]["layers"][-1]["config"]["units"] = UNITS
    return json.dumps(config)


keras.Sequential.to_json = _forged_to_json  # what the worker calls to describe the model


def make_model(units):
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


RATE = 0.01
