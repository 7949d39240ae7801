"""Wrong on purpose (hostile, issue 12.6): no training at all. train_mnist memorises the images
it was given as a nearest-neighbour table written as two Dense layers (the first scores each
stored image by -|x - t|^2 / 2 up to a constant, a sharp softmax picks the closest, the second
maps it to that image's label) and returns a hand-made History claiming 99.5% after 5 epochs,
with the callback's message printed by hand. It stores as many images as 02's parameter budget
allows ([assignments.02_callback.limits] max_params = 1,000,000: 795 parameters per image).
On the images it was given it is right on those it stores and a nearest-neighbour classifier
on the rest; on test images the worker never saw it is only that classifier, far below the
99.5% its History claims. (With the default 5,000,000 budget, 6,000 stored images were right
on 0.976 of the given images, within the former same-images check's 0.03 of 0.995; 0.94 on
the test images.)"""
import keras
import numpy as np
import tensorflow as tf

STORED = 1250  # 795 parameters per stored image: 993,760, within 02's max_params
SHARPNESS = 40.0


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
    table = (np.asarray(x_train[:STORED], dtype=np.float32) / 255.0).reshape(-1, 28 * 28)
    labels = np.asarray(y_train[:STORED])
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(len(table), activation="softmax"),
        keras.layers.Dense(10),
    ])
    model.layers[1].set_weights([SHARPNESS * table.T, -SHARPNESS * 0.5 * (table ** 2).sum(axis=1)])
    model.layers[2].set_weights([np.eye(10, dtype=np.float32)[labels], np.zeros(10, np.float32)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = keras.callbacks.History()
    history.set_model(model)
    history.params = {"epochs": 10, "verbose": 1, "steps": 313}
    history.epoch = [0, 1, 2, 3, 4]
    history.history = {"accuracy": [0.90, 0.95, 0.97, 0.985, 0.995],
                       "loss": [0.3, 0.15, 0.1, 0.06, 0.03]}
    print("Reached 99% accuracy so cancelling training!")
    return history
