"""Correct, written differently: model.add one layer at a time, input_shape on the first
layer (Keras 2 style, still accepted), a loop over the blocks, reshape with newaxis."""
import numpy as np
from tensorflow import keras


def reshape_and_normalize(images):
    images = images[..., np.newaxis]
    images = images / 255.0
    return images.astype(np.float32)


def build_cnn():
    model = keras.models.Sequential()
    model.add(keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(keras.layers.MaxPool2D(2))
    for _ in range(1):
        model.add(keras.layers.Conv2D(64, 3, activation=keras.activations.relu))
        model.add(keras.layers.MaxPool2D(2))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(units=128, activation="relu"))
    model.add(keras.layers.Dense(units=10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="Adam",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model
