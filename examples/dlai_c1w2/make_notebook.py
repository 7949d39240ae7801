"""Generate the master notebook c1w2_callbacks.ipynb (run: python make_notebook.py).

The notebook follows DeepLearning.AI's Course 1, Week 2 assignment (v4 API, 2024): the
graded cells are tagged ``graded`` as in the course's own notebooks and keep their
``# GRADED FUNCTION: name`` / ``# GRADED CLASS: name`` first lines; the data cell, which
the course also grades, reads ``data/mnist.npz`` beside the notebook. Solutions sit between
``# BEGIN SOLUTION`` and ``# END SOLUTION`` inside the course's ``### START CODE HERE``
markers, so ``grader release`` can hand out the exercise again.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.builder import MasterNotebook

NAME = "c1w2_callbacks"

nb = MasterNotebook(NAME)
md, code = nb.md, nb.code


def graded(text: str) -> None:
    """The course's graded cells bring their own `# GRADED FUNCTION: name` line and no check cell."""
    nb.graded(None, text)


md("""
# Week 2: Implementing Callbacks in TensorFlow using the MNIST Dataset

In the course you learned how to do classification using Fashion MNIST, a data set containing
items of clothing. There's another, similar dataset called MNIST which has items of
handwriting -- the digits 0 through 9.

Write an MNIST classifier that trains until it reaches 98% accuracy and stops once this
threshold is achieved. In the lecture you saw how this was done for the loss but here you
will be using accuracy instead.

Some notes:
1. Your network should succeed in less than 10 epochs.
2. When it reaches 98% or greater it should print out the string "Reached 98% accuracy so
   cancelling training!" and stop training.
3. If you add any additional variables, make sure you use the same names as the ones used
   in the class. This is important for the function signatures (the parameters and names)
   of the callbacks.
""")

code("""
import os
import numpy as np
import tensorflow as tf
""")

md("""
## Load and inspect the data

Begin by loading the data. A couple of things to notice:

- The file `mnist.npz` is already included in the current workspace under the `data`
  directory. By default `load_data` from Keras accesses the current directory, so use
  `np.load` with the full path instead.
- Normalize the pixel values to the range [0, 1] by dividing by 255.0, and keep the shape of
  one image in `data_shape`.
""")

graded("""
# GRADED: data
# Get current working directory
current_dir = os.getcwd()

# Append data/mnist.npz to the previous path to get the full path
data_path = os.path.join(current_dir, "data/mnist.npz")

# Load data (discard test set)
with np.load(data_path) as data:
    x_train = data["x_train"]
    y_train = data["y_train"]

# Normalize pixel values
x_train = x_train / 255.0  # SOLUTION

# The shape of one image
data_shape = x_train.shape[1:]  # SOLUTION
""")

code("""
print(f"There are {len(x_train)} examples with shape ({x_train.shape[1]}, {x_train.shape[2]})")
""")

md("""
## Defining your model

Build and compile the model: an `Input` of `data_shape`, a `Flatten` layer, a `Dense` layer
of 512 units with a ReLU activation, and a `Dense` output layer of 10 units with a softmax
activation. Compile it with the `adam` optimizer, the `sparse_categorical_crossentropy` loss
and the `accuracy` metric.
""")

graded("""
# GRADED FUNCTION: create_and_compile_model

def create_and_compile_model():
    \"\"\"Returns the compiled (but untrained) model.

    Returns:
        tf.keras.Model: The model that will be trained to predict predictions.
    \"\"\"

    ### START CODE HERE ###
    # BEGIN SOLUTION
    # Define the model
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=data_shape),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(512, activation=tf.nn.relu),
        tf.keras.layers.Dense(10, activation=tf.nn.softmax),
    ])

    # Compile the model
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # END SOLUTION
    ### END CODE HERE ###

    return model
""")

code("""
# Untrained model
untrained_model = create_and_compile_model()

predictions = untrained_model.predict(x_train[:5], verbose=False)

print(f"predictions have shape: {predictions.shape}")
""")

md("""
## Defining your callback

Now it's time to create your own custom callback. For this complete the
`EarlyStoppingCallback` class and the `on_epoch_end` method in the cell below. If you need
some guidance on how to proceed, check out this [link](https://www.tensorflow.org/guide/keras/writing_your_own_callbacks).
""")

graded("""
# GRADED CLASS: EarlyStoppingCallback

### START CODE HERE ###
# BEGIN SOLUTION
# Remember to inherit from the correct class
class EarlyStoppingCallback(tf.keras.callbacks.Callback):

    # Define the correct function signature for on_epoch_end method
    def on_epoch_end(self, epoch, logs=None):

        # Check if the accuracy is greater or equal to 0.98
        if logs["accuracy"] >= 0.98:

            # Stop training once the above condition is met
            self.model.stop_training = True

            print("\\nReached 98% accuracy so cancelling training!")
# END SOLUTION
### END CODE HERE ###
""")

md("""
## Create a function to train your model

Now that you have defined your callback it's time to complete the `train_mnist` function
below. This function will receive the training data (features and labels) and return the
training history (the `History` that `model.fit` returns). Train for at most 10 epochs,
with your callback.
""")

graded("""
# GRADED FUNCTION: train_mnist

def train_mnist(x_train, y_train):
    \"\"\"Trains a classifier of handwritten digits.

    Args:
        x_train (numpy.ndarray): The images of handwritten digits
        y_train (numpy.ndarray): The labels of the images of handwritten digits

    Returns:
        tf.keras.callbacks.History : The training history.
    \"\"\"

    ### START CODE HERE ###
    # BEGIN SOLUTION
    model = create_and_compile_model()

    # Fit the model for 10 epochs adding the callbacks and save the training history
    history = model.fit(x_train, y_train, epochs=10, callbacks=[EarlyStoppingCallback()])
    # END SOLUTION
    ### END CODE HERE ###

    return history
""")

md("""
Call the `train_mnist` passing in the appropriate parameters to get the training history:
""")

code("""
training_history = train_mnist(x_train, y_train)
""")

md("""
If you see the message `Reached 98% accuracy so cancelling training!` printed out after less
than 10 epochs it means your callback worked as expected.

**Congratulations on finishing this week's assignment!**
""")

raise SystemExit(nb.main(Path(__file__).with_name(f"{NAME}.ipynb")))
