"""Weak on purpose: a plain dense network (Flatten, Dense(128), Dense(10)): keeps the rules and
trains (it gets a leaderboard entry) but stays below what a small convolutional network reaches."""
import keras
from keras import layers


def build_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
