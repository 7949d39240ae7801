"""A model with a Lambda layer whose function would write a marker file on the machine that
deserializes it: the engine rebuilds models only from built-in Keras layers (safe mode + an
allow-list), so the function never runs on the trusted side. The layers check fails (a Lambda
in the middle), the compile check passes, the rebuild is refused. With the honest rest: 5/8.
"""
import keras
import numpy as np

MARKER = "__MARKER__"


def _payload(t):
    import os

    open(f"/tmp/pwned-{MARKER}", "w").write("code from a student model ran here")
    os.system(f"touch /tmp/pwned-{MARKER}-shell")
    return t


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


def make_model(units):
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Lambda(_payload),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


RATE = 0.01
