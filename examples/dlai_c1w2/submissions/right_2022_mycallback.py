# %% [markdown]
# Week 2 assignment as the 2022 template spelled it: `myCallback`, tf.nn activations,
# `Flatten(input_shape=...)`, and exploration cells that train at the top level.

# %%
import os
import numpy as np
import tensorflow as tf
from tensorflow import keras

# %%
# GRADED: data
data_path = os.path.join(os.getcwd(), "data/mnist.npz")
data = np.load(data_path)
x_train = data["x_train"]
y_train = data["y_train"]
x_train = x_train / 255.0
data_shape = x_train.shape[1:]

# %%
# Exploration, as students leave it: never run by the grader
mnist = tf.keras.datasets.mnist
(x_train, y_train), _ = mnist.load_data()
x_train = x_train / 255.0

# %%
# GRADED FUNCTION: create_and_compile_model
def create_and_compile_model():
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(512, activation=tf.nn.relu),
        tf.keras.layers.Dense(10, activation=tf.nn.softmax)
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                  metrics=['accuracy'])
    return model

# %%
# GRADED CLASS: myCallback
class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get('accuracy') is not None and logs.get('accuracy') >= 0.98:
            print("\nReached 98% accuracy so cancelling training!")
            self.model.stop_training = True

# %%
# GRADED FUNCTION: train_mnist
def train_mnist(x_train, y_train):
    ### START CODE HERE
    # Instantiate the callback class
    callbacks = myCallback()
    # Define and compile the model
    model = create_and_compile_model()
    # Fit the model for 10 epochs adding the callbacks and save the training history
    history = model.fit(x_train, y_train, epochs=10, callbacks=[callbacks])
    ### END CODE HERE
    return history

# %%
history = train_mnist(x_train, y_train)
print(history.epoch)
