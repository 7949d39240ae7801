"""Wrong on purpose: Keras 2 habit: the callback reads logs['acc']."""
import keras
import tensorflow as tf


class AccuracyThresholdCallback(tf.keras.callbacks.Callback):
    def __init__(self, threshold=0.99):
        super().__init__()
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("acc")
        if accuracy is not None and accuracy >= self.threshold:
            print(f"Reached {self.threshold:.0%} accuracy so cancelling training!")
            self.model.stop_training = True


def train_mnist(x_train, y_train):
    x = x_train / 255.0
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y_train, epochs=10, callbacks=[AccuracyThresholdCallback()], verbose=2)
