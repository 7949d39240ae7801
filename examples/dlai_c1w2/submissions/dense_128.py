# %% [markdown]
# A smaller hidden layer: trains as asked (the calibration keeps it passing), but not the specified model

# %%
import os
import numpy as np
import tensorflow as tf

# %%
# GRADED: data
current_dir = os.getcwd()
data_path = os.path.join(current_dir, "data/mnist.npz")
with np.load(data_path) as data:
    x_train = data["x_train"]
    y_train = data["y_train"]
x_train = x_train / 255.0
data_shape = x_train.shape[1:]

# %%
print(f"There are {len(x_train)} examples with shape ({x_train.shape[1]}, {x_train.shape[2]})")

# %%
# GRADED FUNCTION: create_and_compile_model
def create_and_compile_model():
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=data_shape),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

# %%
untrained_model = create_and_compile_model()
predictions = untrained_model.predict(x_train[:5], verbose=False)

# %%
# GRADED CLASS: EarlyStoppingCallback
class EarlyStoppingCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] >= 0.98:
            self.model.stop_training = True
            print("\nReached 98% accuracy so cancelling training!")

# %%
# GRADED FUNCTION: train_mnist
def train_mnist(x_train, y_train):
    model = create_and_compile_model()
    history = model.fit(x_train, y_train, epochs=10, callbacks=[EarlyStoppingCallback()])
    return history

# %%
training_history = train_mnist(x_train, y_train)
