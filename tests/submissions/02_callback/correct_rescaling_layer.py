"""Correct, written differently: the callback stores the threshold under another name and
formats the percentage by hand; train_mnist scales inside the model (a Rescaling layer, so
the model takes raw pixels) and uses the functional API."""
import keras
import numpy as np


class AccuracyThresholdCallback(keras.callbacks.Callback):
    def __init__(self, threshold=0.99):
        super().__init__()
        self.target = float(threshold)

    def on_epoch_end(self, epoch, logs=None):
        if not logs or "accuracy" not in logs:
            return
        if logs["accuracy"] >= self.target:
            percent = round(self.target * 100)
            print(f"Reached {percent}% accuracy so cancelling training!")
            self.model.stop_training = True


def train_mnist(x_train, y_train):
    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(512, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stopper = AccuracyThresholdCallback(threshold=0.99)
    return model.fit(np.asarray(x_train, dtype="float32"), y_train, epochs=10,
                     batch_size=32, callbacks=[stopper], verbose=0)
