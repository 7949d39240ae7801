"""Wrong on purpose: a sensible CNN, but SGD with learning_rate=50: training diverges at once
(every relu unit dies) and the model never gets better than guessing one class."""
import keras
from keras import layers


def build_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=50.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
