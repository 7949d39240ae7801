"""A normal, correct submission (8/8): the baseline the hostile ones are graded beside."""
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
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


RATE = 0.01
