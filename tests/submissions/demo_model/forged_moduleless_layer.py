"""Hostile (issue 12): the worker's reply is the student's to forge. make_model returns an
honest model but patches ``to_json`` so the config the trusted side receives holds a layer node
without ``module`` naming the public Keras function ``plot_image_gallery`` with a ``path``:
Keras would deserialize it as a legacy name and call the function, which writes that file on
the machine that rebuilds the model. The allow-list refuses the node before Keras sees it: no
file is written (the test checks the path), the layers check fails on the forged layer, the
rebuild is refused. With the honest rest: 5/8, status ok."""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included: the patch below)
import json

import keras
import numpy as np

MARKER = "__MARKER__"
FORGED_LAYER = {"class_name": "plot_image_gallery",
                "config": {"images": [[[[0.0]]]], "path": f"/tmp/pwned-{MARKER}.png"}}


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


def _forged_to_json(self, **kwargs):
    config = json.loads(keras.Model.to_json(self, **kwargs))
    config["config"]["layers"].insert(1, FORGED_LAYER)
    return json.dumps(config)


keras.Sequential.to_json = _forged_to_json  # what the worker calls to describe the model


def make_model(units):
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


RATE = 0.01
