"""Wrong on purpose: padding='same' in the first convolution: the feature maps keep 28x28."""
import keras
import numpy as np
from keras import layers


def reshape_and_normalize(images):
    return (images.astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)


def build_cnn():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
