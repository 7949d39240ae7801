"""Correct, written differently: numpy's ceil converted to int, a list comprehension for the
choices, Sequential.add with a Softmax layer, SparseCategoricalAccuracy as the metric."""
import keras
import numpy as np


def steps_per_epoch(n_examples, batch_size):
    return int(np.ceil(n_examples / batch_size))


def third_pair_choices(size, filters):
    sides = {k: (size - k + 1) // 2 for k in range(1, size + 1)}
    return [(k, (s, s, filters)) for k, s in sides.items() if s > 0]


def build_lenet(conv_filters=(6, 16), dense_units=(120, 84)):
    model = keras.Sequential()
    model.add(keras.layers.Input((28, 28, 1)))
    model.add(keras.layers.Conv2D(filters=conv_filters[0], kernel_size=5, activation="relu"))
    model.add(keras.layers.MaxPooling2D())
    model.add(keras.layers.Conv2D(filters=conv_filters[1], kernel_size=5, activation="relu"))
    model.add(keras.layers.MaxPooling2D())
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(dense_units[0], activation="relu"))
    model.add(keras.layers.Dense(dense_units[1], activation="relu"))
    model.add(keras.layers.Dense(10))
    model.add(keras.layers.Softmax())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model
