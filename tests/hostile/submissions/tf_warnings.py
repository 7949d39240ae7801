"""Correct, but noisy: TensorFlow/Keras/Python warnings and log lines on stderr (8/8)."""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import logging
import os
import sys
import warnings

import keras
import numpy as np
import tensorflow as tf

warnings.warn("this is a UserWarning at import time")
warnings.warn("deprecated thing", DeprecationWarning)
tf.get_logger().warning("a TensorFlow warning at import time")
logging.getLogger("absl").warning("an absl warning")
os.write(2, b"2026-01-01 00:00:00.000000: W tensorflow/core/framework/op_kernel.cc:1234] fake kernel warning\n")
print("W0000 00:00:1700000000.000000 12345 cuda_executor.cc:1] could not open CUDA", file=sys.stderr)


def scale(x):
    warnings.warn("scale: a warning during the call")
    return x / np.max(np.abs(x))


def predict_labels(probs):
    tf.get_logger().warning("predict_labels: a warning during the call")
    return np.argmax(probs, axis=1)


def make_model(units):
    # Keras 3 warns: "Do not pass an `input_shape`/`input_dim` argument to a layer"
    model = keras.Sequential([
        keras.layers.Dense(units, activation="relu", input_shape=(4,)),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    os.write(2, b"W tensorflow: a raw write to fd 2 while building the model\n")
    return model


RATE = 0.01
