"""Hostile (issue 12): compiled with run_eagerly=True (so Keras would run the compile settings
as Python inside the grader's own fit/evaluate), and the compile config the worker sends is
forged (``get_compile_config`` and ``to_json`` patched in the student's process) to add a
metric naming the public Keras function ``plot_image_gallery`` with a ``path``: the trusted
side keeps only allow-listed compile fields, drops run_eagerly and the compile config embedded
in the model config, and refuses the metric before Keras sees it: no file is written (the test
checks the path), the rebuild is refused. Layers and loss are honest: 7/8, status ok."""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included: the patch below)
import json

import keras
import numpy as np

MARKER = "__MARKER__"
FORGED_METRIC = {"module": "keras.visualization", "class_name": "plot_image_gallery",
                 "config": {"images": [[[[0.0]]]], "path": f"/tmp/pwned-{MARKER}-metric.png"},
                 "registered_name": "plot_image_gallery"}


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


def _forged_compile_config(self):
    config = keras.Model.get_compile_config(self)
    config["metrics"] = [*(config.get("metrics") or []), FORGED_METRIC]
    config["run_eagerly"] = True
    return config


def _forged_to_json(self, **kwargs):
    config = json.loads(keras.Model.to_json(self, **kwargs))
    config["compile_config"] = _forged_compile_config(self)
    return json.dumps(config)


keras.Sequential.get_compile_config = _forged_compile_config  # what the worker calls
keras.Sequential.to_json = _forged_to_json


def make_model(units):
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True)
    return model


RATE = 0.01
