"""Correct, written differently: Sequential.add, one 5x5 convolution, Dense(10) then a Softmax
layer, returned uncompiled (the grader compiles it with adam)."""
import tensorflow as tf


def build_model():
    model = tf.keras.Sequential()
    model.add(tf.keras.layers.Input((28, 28, 1)))
    model.add(tf.keras.layers.Conv2D(32, 5, activation="relu"))
    model.add(tf.keras.layers.MaxPooling2D(2))
    model.add(tf.keras.layers.Flatten())
    model.add(tf.keras.layers.Dense(32, activation="relu"))
    model.add(tf.keras.layers.Dense(10))
    model.add(tf.keras.layers.Softmax())
    return model
