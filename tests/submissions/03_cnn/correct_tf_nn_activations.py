"""Correct, written with TensorFlow's own functions as activations: activation=tf.nn.relu and
tf.nn.softmax (Keras 3 writes the latter as the function "softmax_v2"; the grader reads it as
Keras' "softmax", grader.engine.model_policy.TF_EQUIVALENTS)."""
import numpy as np
import tensorflow as tf


def reshape_and_normalize(images):
    return (np.asarray(images, dtype=np.float32) / 255.0).reshape(-1, 28, 28, 1)


def build_cnn():
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(28, 28, 1)),
        tf.keras.layers.Conv2D(64, (3, 3), activation=tf.nn.relu),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(64, (3, 3), activation=tf.nn.relu),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation=tf.nn.relu),
        tf.keras.layers.Dense(10, activation=tf.nn.softmax),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
