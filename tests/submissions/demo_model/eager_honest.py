"""Compiled with run_eagerly=True (and jit_compile, steps_per_execution), nothing forged: both
the compile config and the model config (to_json embeds it) say run_eagerly. The trusted side
drops those settings and rebuilds the model with Keras' defaults; everything else is right:
8/8, status ok."""
import keras
import numpy as np


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


def make_model(units):
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True, jit_compile=False, steps_per_execution=2)
    return model


RATE = 0.01
