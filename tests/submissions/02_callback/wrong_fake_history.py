"""Wrong on purpose (hostile): returns a hand-made History claiming 99.5% with an untrained model."""
import keras
import tensorflow as tf


class AccuracyThresholdCallback(tf.keras.callbacks.Callback):
    def __init__(self, threshold=0.99):
        super().__init__()
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy >= self.threshold:
            print(f"Reached {self.threshold:.0%} accuracy so cancelling training!")
            self.model.stop_training = True


def train_mnist(x_train, y_train):
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = keras.callbacks.History()
    history.set_model(model)
    history.params = {"epochs": 10, "verbose": 1, "steps": 313}
    history.epoch = [0, 1, 2, 3, 4]
    history.history = {"accuracy": [0.90, 0.95, 0.97, 0.985, 0.995],
                       "loss": [0.3, 0.15, 0.1, 0.06, 0.03]}
    print("Reached 99% accuracy so cancelling training!")
    return history
