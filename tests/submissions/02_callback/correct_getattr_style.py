"""Correct, written differently: try/except around the logs, the message built with
str.format, training data as a tf.data pipeline, model built with add()."""
import numpy as np
import tensorflow as tf


class AccuracyThresholdCallback(tf.keras.callbacks.Callback):
    def __init__(self, threshold=0.99):
        super(AccuracyThresholdCallback, self).__init__()  # noqa: UP008 - Keras 2 style
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        try:
            reached = logs["accuracy"] >= self.threshold
        except (TypeError, KeyError):
            reached = False
        if reached:
            print("Reached {:.0%} accuracy so cancelling training!".format(self.threshold))  # noqa: UP032
            self.model.stop_training = True


def train_mnist(x_train, y_train):
    x = (x_train.astype(np.float32) / 255.0).reshape(-1, 28, 28)
    data = tf.data.Dataset.from_tensor_slices((x, y_train.astype(np.int64))).shuffle(1024).batch(32)
    model = tf.keras.models.Sequential()
    model.add(tf.keras.Input(shape=(28, 28)))
    model.add(tf.keras.layers.Flatten())
    model.add(tf.keras.layers.Dense(512, activation=tf.nn.relu))
    model.add(tf.keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    history = model.fit(data, epochs=10, callbacks=[AccuracyThresholdCallback()], verbose=0)
    return history
