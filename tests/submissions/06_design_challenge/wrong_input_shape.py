"""Wrong on purpose: the model takes flat vectors of 784 pixels, not (28, 28, 1) images."""
import keras
from keras import layers


def build_model():
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
