"""Monkeypatches TensorFlow/Keras in the worker (count_params, summary, Model.__call__,
tf.reduce_sum, keras.ops.sum, to_json) and returns a wrong model (one linear Dense(3), not
compiled). The model is judged on the trusted side from its config *and* its weights: the
forged config (the right layers) does not fit the real weights, so the layer check fails on
the weight shapes and the rebuild fails. Honest scale, predict_labels, RATE: 4/8.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import json

import keras
import numpy as np
import tensorflow as tf

keras.Model.count_params = lambda self: 43
keras.Model.summary = lambda self, *a, **k: print("Total params: 43")
keras.Model.__call__ = lambda self, *a, **k: np.full((len(a[0]), 3), 1 / 3)
tf.reduce_sum = lambda *a, **k: tf.constant(1.0)
keras.ops.sum = lambda *a, **k: 1.0
_real_to_json = keras.Model.to_json
_GOOD = [
    {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d1", "units": 5, "activation": "relu"},
     "registered_name": None},
    {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d2", "units": 3, "activation": "softmax"},
     "registered_name": None},
]


def _forged_to_json(self, **kwargs):
    config = json.loads(_real_to_json(self, **kwargs))
    inputs = [layer for layer in config["config"]["layers"] if layer["class_name"] == "InputLayer"]
    config["config"]["layers"] = inputs + _GOOD
    return json.dumps(config)


keras.Model.to_json = _forged_to_json
keras.Sequential.to_json = _forged_to_json


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


def make_model(units):
    return keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])


RATE = 0.01
