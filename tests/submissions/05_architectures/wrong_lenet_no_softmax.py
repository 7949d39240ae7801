"""Wrong on purpose: the output layer has no activation (logits) but the loss expects probabilities."""
import math

import keras
from keras import layers


def steps_per_epoch(n_examples, batch_size):
    return math.ceil(n_examples / batch_size)


def third_pair_choices(size, filters):
    choices = []
    for kernel_size in range(1, size + 1):
        side = (size - kernel_size + 1) // 2
        if side >= 1:
            choices.append((kernel_size, (side, side, filters)))
    return choices


def build_lenet(conv_filters=(6, 16), dense_units=(120, 84)):
    f1, f2 = conv_filters
    u1, u2 = dense_units
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(f1, (5, 5), activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(f2, (5, 5), activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(u1, activation="relu"),
        layers.Dense(u2, activation="relu"),
        layers.Dense(10),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
