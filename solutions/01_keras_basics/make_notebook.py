"""Generate the master notebook 01_keras_basics.ipynb (run: python make_notebook.py).

The notebook is written from this script so that a review reads plain Python instead of
notebook JSON. Conventions (docs/AUTHORING.md): graded cells are tagged ``graded`` and
start with ``# GRADED: <label>``; solutions sit between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` (or end with ``# SOLUTION``); each graded cell is followed by a
``grader.check("<target>")`` cell tagged ``check``; explanation answers are markdown
cells tagged ``answer`` whose first line is ``<!-- ANSWER: <question> -->``.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.builder import MasterNotebook

NAME = "01_keras_basics"
# the explanation questions, as in [[assignments.01_keras_basics.manual]] of autograder.toml
PROMPTS = {
    "untrained_accuracy": "Why is the accuracy of the untrained logistic regression close to 0.1?",
    "random_probabilities": "Why does a newly built model give different probabilities each time you run "
                            "the cell?",
    "parameter_counts": "Explain the weight counts of the logistic regression, the dense network and the "
                        "convolutional layers (why a convolution has so few weights, why a second "
                        "convolution has more).",
    "overfitting": "Why does the dense network trained on 500 images overfit, and what would reduce it?",
}

nb = MasterNotebook(NAME, prompts=PROMPTS)
md, code, graded, answer = nb.md, nb.code, nb.graded, nb.answer


md("""
# Keras basics on MNIST

In this exercise you meet the three kinds of models the course builds on, all on the
MNIST handwritten digits (28×28 grey images of the digits 0 to 9):

1. a **logistic regression**: every pixel is an input, one output per class;
2. a **dense network**: a hidden layer of 128 units between the pixels and the classes;
3. a **convolutional network**: small filters slid over the image before the classifier.

Along the way you will turn the probabilities a model outputs into predicted labels,
measure accuracy, and count the weights of each model by hand, then check your counts
against what Keras reports.

**How this notebook is graded.** Cells that start with `# GRADED:` are run by the grader:
write your code only where it says `# YOUR CODE HERE`, keep the function names, and make
your functions use only their arguments (the grader does not run the other cells, so a
variable such as `x_train` does not exist when your function is tested). The
`grader.check(...)` cell after each graded cell runs the public checks on your answer.
The cells that start with *Your answer* are read by your instructor.
""")

code("""
import numpy as np
import keras
import matplotlib.pyplot as plt

import grader
from grader.datasets import load_mnist
""")

md("""
## The data

`load_mnist()` returns the usual Keras split: 60,000 training images and 10,000 test
images, each a 28×28 array of integers from 0 (black) to 255 (white), and the digit each
image shows. Neural networks train better on small numbers, so we scale the pixels to
[0, 1].
""")

code("""
(x_train, y_train), (x_test, y_test) = load_mnist()
print("train:", x_train.shape, x_train.dtype, " labels:", y_train.shape, y_train[:10])
print("test: ", x_test.shape, x_test.dtype)
x_train = x_train / 255.0
x_test = x_test / 255.0
""")

code("""
fig, axes = plt.subplots(1, 8, figsize=(12, 2))
for ax, image, label in zip(axes, x_train, y_train):
    ax.imshow(image, cmap="gray")
    ax.set_title(int(label))
    ax.axis("off")
plt.show()
""")

md("""
## A logistic regression

The simplest classifier looks at every pixel at once. `Flatten` turns each 28×28 image
into a vector of 784 numbers, and `Dense(10)` computes 10 scores, one per digit: each
score is a weighted sum of the 784 pixels plus a bias. The softmax activation turns the
10 scores into 10 probabilities that add up to 1.

`model.summary()` lists the layers, the shape of what each one outputs (`None` stands for
the batch size, any number of images) and how many weights (parameters) each one has.
""")

code("""
logistic = keras.Sequential([
    keras.Input(shape=(28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
logistic.summary()
""")

md("""
## From probabilities to labels

Even before training, the model outputs one row of 10 probabilities per image. The
**predicted label** of an image is the class with the largest probability in its row,
which `np.argmax` finds when you tell it to look along each row (`axis=1`), not down each
column.
""")

code("""
probabilities = logistic.predict(x_test[:1000], verbose=0)
print(probabilities.shape)
print(np.round(probabilities[0], 3), "sum:", probabilities[0].sum())
""")

md("""
### Exercise 1: `predicted_labels`

Write `predicted_labels(probabilities)`: given an array of shape `(N, C)` (one row of `C`
class probabilities per example), return a numpy array of shape `(N,)` of integers, the
index of the most probable class of each row. Your function must work for any number of
classes, not only 10.
""")

graded("predicted labels", """
def predicted_labels(probabilities):
    \"\"\"The most probable class of each row of `probabilities` (N, C) -> (N,) integers.\"\"\"
    # BEGIN SOLUTION
    probabilities = np.asarray(probabilities)
    return np.argmax(probabilities, axis=1)
    # END SOLUTION
""", "predicted_labels")

md("""
### Exercise 2: `accuracy`

The **accuracy** is the fraction of examples whose predicted label equals the true label:
a number between 0 and 1 (write 0.93, not 93). Write `accuracy(probabilities, labels)`
where `labels` is an array of `N` integer class indices (like `y_test`).
""")

graded("accuracy", """
def accuracy(probabilities, labels):
    \"\"\"Fraction (in [0, 1]) of rows of `probabilities` whose most probable class is `labels`.\"\"\"
    # BEGIN SOLUTION
    predicted = np.argmax(np.asarray(probabilities), axis=1)
    return float(np.mean(predicted == np.asarray(labels)))
    # END SOLUTION
""", "accuracy")

md("""
How well does the untrained logistic regression do?
""")

code("""
print("accuracy of the untrained model:", accuracy(probabilities, y_test[:1000]))
""")

answer("untrained_accuracy", """
**Your answer:** The weights of a new model are random, so its scores have nothing to do
with the digits: the predicted label is in effect a random guess among 10 classes, and a
random guess is right about 1 time in 10. The untrained accuracy is therefore close to
0.1 (a little above or below, depending on which class the random weights happen to
favour).
""")

md("""
Build the same model a second time and look at the probabilities it gives the first test
image.
""")

code("""
logistic_again = keras.Sequential([
    keras.Input(shape=(28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
print(np.round(logistic.predict(x_test[:1], verbose=0)[0], 3))
print(np.round(logistic_again.predict(x_test[:1], verbose=0)[0], 3))
""")

answer("random_probabilities", """
**Your answer:** Each time a layer is built, Keras initializes its weights with new random
numbers (Glorot uniform for a `Dense` kernel; the biases start at zero). Different weights
give different scores and so different probabilities, every run and for every new model.
Fixing the seed (`keras.utils.set_random_seed(0)`) before building the model makes the
numbers repeat. After training the probabilities still differ a little from run to run,
because the training data is also shuffled at random.
""")

md("""
## Counting weights

A `Dense(units)` layer on `n_inputs` inputs has a weight for every (input, unit) pair
plus one **bias** per unit.

A `Conv2D(filters, kernel_size)` layer has, for each filter, a `kernel_size × kernel_size`
window of weights **on every input channel**, plus one bias per filter. A grey image has
one channel; the output of a convolution with 8 filters has 8 channels.

With `padding="valid"` (the default) and stride 1, a `k × k` window fits in
`size - k + 1` positions along each side, so each convolution shrinks the image.
`MaxPooling2D(pool_size)` keeps the maximum of each `pool_size × pool_size` block and
drops the incomplete blocks at the border: the size is divided by `pool_size`, rounded
down.

### Exercise 3: four counting functions

Write the four functions below; each returns an integer.
""")

graded("dense_param_count", """
def dense_param_count(n_inputs, units):
    \"\"\"Weights of Dense(units) on n_inputs inputs, biases included.\"\"\"
    # BEGIN SOLUTION
    return n_inputs * units + units
    # END SOLUTION
""", "dense_param_count")

graded("conv2d_param_count", """
def conv2d_param_count(in_channels, filters, kernel_size):
    \"\"\"Weights of Conv2D(filters, kernel_size) (square kernel) on in_channels channels, biases included.\"\"\"
    # BEGIN SOLUTION
    return filters * (kernel_size * kernel_size * in_channels + 1)
    # END SOLUTION
""", "conv2d_param_count")

graded("conv_output_size", """
def conv_output_size(size, kernel_size):
    \"\"\"Side of the output of a kernel_size x kernel_size convolution, valid padding, stride 1.\"\"\"
    # BEGIN SOLUTION
    return size - kernel_size + 1
    # END SOLUTION
""", "conv_output_size")

graded("pool_output_size", """
def pool_output_size(size, pool_size=2):
    \"\"\"Side of the output of MaxPooling2D(pool_size) on a size x size input.\"\"\"
    # BEGIN SOLUTION
    return size // pool_size
    # END SOLUTION
""", "pool_output_size")

code("""
print(dense_param_count(784, 10), conv2d_param_count(1, 8, 5), conv_output_size(28, 5), pool_output_size(13))
""")

md("""
## A dense network

Put a hidden layer of 128 units with a ReLU activation between the pixels and the
classes.
""")

code("""
dense = keras.Sequential([
    keras.Input(shape=(28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
dense.summary()
""")

md("""
## A small convolutional network

A convolution slides 8 small 5×5 filters over the image. It needs images with a channel
axis, `(28, 28, 1)`, so we add one with `x[..., np.newaxis]`. Its 8 output images are then
flattened and classified by `Dense(10)`.
""")

code("""
conv = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(8, 5, activation="relu"),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
conv.summary()
""")

md("""
### Exercise 4: the weights of the lesson's models

Give each number as an integer (you may compute it with your functions above, or by hand;
then compare with the summaries).

- `LOGISTIC_REGRESSION_WEIGHTS`: `Dense(10)` on the 784 pixels;
- `TWO_LAYER_WEIGHTS`: the whole dense network, `Dense(128)` then `Dense(10)`;
- `FIRST_CONV_WEIGHTS`: the layer `Conv2D(8, 5)` on a grey (one-channel) image;
- `CONV_MODEL_WEIGHTS`: the whole convolutional network above: `Conv2D(8, 5)`, `Flatten`,
  `Dense(10)` on 28×28×1 images;
- `SECOND_CONV_WEIGHTS`: a layer `Conv2D(16, 5)` placed after the 8-filter convolution;
- `FLATTENED_FEATURES`: how many numbers `Flatten` outputs in the two-block network of the
  `03_cnn` exercise on 28×28×1 images: `Conv2D(64, 3)`, `MaxPooling2D(2)`, `Conv2D(64, 3)`,
  `MaxPooling2D(2)`, `Flatten`.
""")

graded("LOGISTIC_REGRESSION_WEIGHTS", """
LOGISTIC_REGRESSION_WEIGHTS = 784 * 10 + 10  # SOLUTION
""", "LOGISTIC_REGRESSION_WEIGHTS")

graded("TWO_LAYER_WEIGHTS", """
TWO_LAYER_WEIGHTS = (784 * 128 + 128) + (128 * 10 + 10)  # SOLUTION
""", "TWO_LAYER_WEIGHTS")

graded("FIRST_CONV_WEIGHTS", """
FIRST_CONV_WEIGHTS = 8 * (5 * 5 * 1 + 1)  # SOLUTION
""", "FIRST_CONV_WEIGHTS")

graded("CONV_MODEL_WEIGHTS", """
CONV_MODEL_WEIGHTS = 8 * (5 * 5 + 1) + (24 * 24 * 8) * 10 + 10  # SOLUTION
""", "CONV_MODEL_WEIGHTS")

graded("SECOND_CONV_WEIGHTS", """
SECOND_CONV_WEIGHTS = 16 * (5 * 5 * 8 + 1)  # SOLUTION
""", "SECOND_CONV_WEIGHTS")

graded("FLATTENED_FEATURES", """
FLATTENED_FEATURES = 5 * 5 * 64  # SOLUTION
""", "FLATTENED_FEATURES")

code("""
cnn = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(64, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(64, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
cnn.summary()
print("logistic:", logistic.count_params(), "dense:", dense.count_params(), "conv:", conv.count_params())
print("flattened features of the 03_cnn network:", cnn.layers[-2].output.shape[-1])
""")

answer("parameter_counts", """
**Your answer:** A `Dense` unit computes a weighted sum of all its inputs plus a bias, so
`Dense(10)` on 784 pixels has 784 × 10 weights and 10 biases: 7,850. The hidden layer of
the dense network has 784 × 128 + 128 = 100,480 and its output layer 128 × 10 + 10 = 1,290,
101,770 in total. A convolution shares its weights across the image: `Conv2D(8, 5)` on one
channel has only 8 filters of 5 × 5 weights plus 8 biases, 208, however large the image.
But its output is 24 × 24 × 8 = 4,608 numbers (valid padding shrinks 28 to 28 − 5 + 1),
so the `Dense(10)` after `Flatten` has 46,090 weights. A second `Conv2D(16, 5)` sees 8
channels, so each of its 16 filters has 5 × 5 × 8 weights plus a bias: 3,216. In the
`03_cnn` network the sizes go 28 → 26 → 13 → 11 → 5, so `Flatten` outputs 5 × 5 × 64 = 1,600
numbers.
""")

md("""
## A short training

Training adjusts the weights to make the right class more probable. One or two passes
(epochs) over a part of the training set are enough to see the accuracy leave 0.1 far
behind. The convolutional model needs the channel axis.
""")

code("""
keras.utils.set_random_seed(0)
subset = slice(0, 10000)
for name, model, x, xt in [
    ("logistic", logistic, x_train, x_test),
    ("dense", dense, x_train, x_test),
    ("conv", conv, x_train[..., np.newaxis], x_test[..., np.newaxis]),
]:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[subset], y_train[subset], epochs=2, batch_size=64, verbose=0)
    probs = model.predict(xt, verbose=0)
    print(f"{name:9s} test accuracy after 2 epochs on 10,000 images: {accuracy(probs, y_test):.3f}")
""")

code("""
probs = conv.predict(x_test[:5, ..., np.newaxis], verbose=0)
print(np.round(probs, 2))
print("predicted:", predicted_labels(probs), " true:", y_test[:5])
""")

md("""
## Overfitting

Train a fresh dense network for longer on only 500 images, and measure it on images it
has never seen (`validation_data`).
""")

code("""
keras.utils.set_random_seed(0)
small = keras.Sequential([
    keras.Input(shape=(28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
small.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = small.fit(x_train[:500], y_train[:500], epochs=20, batch_size=32, verbose=0,
                    validation_data=(x_test[:2000], y_test[:2000]))
plt.plot(history.history["accuracy"], label="training images")
plt.plot(history.history["val_accuracy"], label="unseen images")
plt.xlabel("epoch")
plt.ylabel("accuracy")
plt.legend()
plt.show()
print("final training accuracy:", round(history.history["accuracy"][-1], 3),
      " on unseen images:", round(history.history["val_accuracy"][-1], 3))
""")

answer("overfitting", """
**Your answer:** The network has about 100,000 weights and sees only 500 images, so it can
learn those particular images by heart, including details (a stroke's thickness, a
smudge) that say nothing about the digit. Its accuracy on the training images climbs to
almost 1.0 while on unseen images it stops improving well below: that gap is
overfitting. More training data, a smaller model, fewer epochs (early stopping) or
regularization such as dropout reduce it.
""")

raise SystemExit(nb.main(Path(__file__).with_name(f"{NAME}.ipynb")))
