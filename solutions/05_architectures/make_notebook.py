"""Generate the master notebook 05_architectures.ipynb (run: python make_notebook.py).

The notebook is written from this script so that a review reads plain Python instead of
notebook JSON. Conventions (docs/AUTHORING.md): graded cells are tagged ``graded`` and
start with ``# GRADED: <label>``; solutions sit between ``# BEGIN SOLUTION`` and
``# END SOLUTION``; each graded cell is followed by a ``grader.check("<target>")`` cell
tagged ``check``; explanation answers are markdown cells tagged ``answer`` whose first line
is ``<!-- ANSWER: <question> -->``.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.builder import MasterNotebook

NAME = "05_architectures"
# the explanation questions, as in [[assignments.05_architectures.manual]] of autograder.toml
PROMPTS = {
    "progress_bar_steps": "What does the 1,875 in the progress bar stand for, and where does the number "
                          "come from?",
    "batch_size_100": "Why does an epoch with batch_size=100 run about twice as fast as with the default "
                      "batch size, and what else changes?",
    "last_epoch_validation": "Why is the validation accuracy after the last epoch exactly the accuracy "
                             "model.evaluate gives on the same images, while the training accuracy of "
                             "the last epoch is not what model.evaluate gives on the training images?",
    "relu_vs_sigmoid": "Why does the network with relu train faster than the same network with sigmoid?",
    "dense_overfitting": "Why does the dense network overfit, and what in the curves shows it?",
}

nb = MasterNotebook(NAME, prompts=PROMPTS)
md, code, graded, answer = nb.md, nb.code, nb.graded, nb.answer


md("""
# Architectures on MNIST: batches, activations, depth and LeNet

This exercise starts from the Keras introduction on MNIST (a dense network trained for a few
epochs) and asks what the numbers Keras prints mean: the steps of the progress bar, the
accuracies of the last epoch. Then it changes the architecture step by step: the
activation, a third dense layer, convolutions, and finally a **LeNet**-style network (two
convolution + pooling pairs and three dense layers), the design with which convolutional
networks started reading digits in the 1990s.

**How this notebook is graded.** Cells that start with `# GRADED:` are run by the grader:
write your code where it says `# YOUR CODE HERE` and keep the function names. Your functions
must use only their arguments (the grader does not run the other cells). The
`grader.check(...)` cell after each graded cell runs the public checks on your answer; the
grader also runs hidden checks on other inputs, and trains the model your `build_lenet`
returns on its own. The cells that start with *Your answer* are read by your instructor.
""")

code("""
import math
import time

import numpy as np
import matplotlib.pyplot as plt
import keras
from keras import layers

import grader
from grader.datasets import load_mnist
""")

md("""
## The Keras introduction

60,000 training images and 10,000 test images of handwritten digits, 28×28 pixels from 0 to
255, scaled to [0, 1]. The test images serve as **validation data**: after each epoch
Keras measures the model on them, without training on them.
""")

code("""
(train_images, y_train), (test_images, y_test) = load_mnist()
x_train, x_test = train_images / 255.0, test_images / 255.0
print(x_train.shape, x_test.shape)
""")

code("""
def dense_network(activation="relu"):
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation=activation),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


model = dense_network()
start = time.perf_counter()
history = model.fit(x_train, y_train, epochs=5, validation_data=(x_test, y_test))
print(f"{time.perf_counter() - start:.1f} s")
""")

md("""
## Steps per epoch

Each line of the progress bar ends at `1875/1875`. `fit` does not look at the 60,000
images one by one: it cuts them into **batches** of `batch_size` images (32 unless you say
otherwise), computes the loss and its gradient on one batch, updates the weights, and moves
to the next batch. One such update is a **step**; an epoch is one pass over all the
training images. When the number of images is not a multiple of the batch size, the last
batch is smaller, but it is still a step.

Write `steps_per_epoch(n_examples, batch_size)`: the number of steps `fit` takes per epoch
for `n_examples` training examples in batches of `batch_size` (both positive integers),
as an integer. It must work for any sizes: a batch larger than the data, a batch of 1,
sizes that are multiples of each other and sizes that are not.
""")

graded("steps per epoch", """
def steps_per_epoch(n_examples, batch_size):
    \"\"\"How many batches (steps) one epoch over n_examples takes, the last batch possibly smaller.\"\"\"
    # BEGIN SOLUTION
    return math.ceil(n_examples / batch_size)
    # END SOLUTION
""", "steps_per_epoch")

code("""
print(steps_per_epoch(60000, 32), steps_per_epoch(60000, 100), steps_per_epoch(1000, 64))
""")

answer("progress_bar_steps", """
**Your answer:** 1,875 is the number of steps (batches) in one epoch: `fit` splits the 60,000
training images into batches of 32, the default `batch_size`, and 60,000 / 32 = 1,875. After
each batch the weights are updated once, so an epoch is 1,875 weight updates; the bar counts
them. Had the data not been a multiple of 32, the last, smaller batch would count as one
more step (rounding up).
""")

md("""
## A larger batch

Train the same network with `batch_size=100` and compare the time per epoch, the number of
steps and the accuracies with the run above.
""")

code("""
model_100 = dense_network()
start = time.perf_counter()
history_100 = model_100.fit(x_train, y_train, epochs=5, batch_size=100, validation_data=(x_test, y_test))
print(f"{time.perf_counter() - start:.1f} s")
""")

answer("batch_size_100", """
**Your answer:** With batches of 100 an epoch has 600 steps instead of 1,875. Each step costs
a fixed overhead (running the graph, the optimizer's update, the progress bar) plus work that
grows with the batch; the matrix products of a batch of 100 use the processor's parallel
units better than three batches of 32, so the epoch takes about half the time. What else
changes: the weights are updated only 600 times per epoch, so after the same number of epochs
the model has taken fewer (less noisy, averaged over more images) steps and its accuracy is
usually a little lower, or needs more epochs or a larger learning rate to catch up; each
step also needs more memory.
""")

md("""
## The accuracies of the last epoch

Evaluate the trained model on the validation images and on the training images and compare
with the last line of the progress bar (`history.history` keeps those numbers).
""")

code("""
print("last epoch:", {k: round(v[-1], 4) for k, v in history.history.items()})
print("evaluate on the validation images:", model.evaluate(x_test, y_test, verbose=0))
print("evaluate on the training images:  ", model.evaluate(x_train, y_train, verbose=0))
""")

answer("last_epoch_validation", """
**Your answer:** The validation accuracy is measured after the epoch has ended, with the final
weights of the epoch, on all the validation images: exactly what `model.evaluate` does
afterwards, so the numbers agree. The training accuracy of an epoch is a running average over
its 1,875 batches, each measured with the weights of that moment, while they were still
changing: the early batches of the epoch were scored by a worse model. `evaluate` on the
training images uses the final weights only, so it gives a higher number (layers such as
dropout, which behave differently while training, would make the two differ too).
""")

md("""
## relu or sigmoid

The same dense network with `sigmoid` instead of `relu` in its hidden layer:
""")

code("""
model_sigmoid = dense_network("sigmoid")
history_sigmoid = model_sigmoid.fit(x_train, y_train, epochs=5, validation_data=(x_test, y_test), verbose=0)
plt.plot(history.history["val_accuracy"], label="relu")
plt.plot(history_sigmoid.history["val_accuracy"], label="sigmoid")
plt.xlabel("epoch")
plt.ylabel("validation accuracy")
plt.legend()
plt.show()
""")

answer("relu_vs_sigmoid", """
**Your answer:** The sigmoid squashes its input into (0, 1) and its slope is at most 0.25,
close to 0 for large inputs: the gradient that reaches the first layer is multiplied by that
small slope, so its weights move slowly, and units whose input is large (saturated) hardly
learn at all. relu has slope 1 for every positive input, so the gradient passes unchanged
through the active units; it is also cheaper to compute and its outputs are not all positive
around 0.5. The relu network therefore reaches a given accuracy in fewer epochs.
""")

md("""
## Overfitting

Train the dense network longer and watch both curves.
""")

code("""
model_long = dense_network()
history_long = model_long.fit(x_train, y_train, epochs=20, validation_data=(x_test, y_test), verbose=0)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for key in ("accuracy", "val_accuracy"):
    ax1.plot(history_long.history[key], label=key)
for key in ("loss", "val_loss"):
    ax2.plot(history_long.history[key], label=key)
ax1.legend()
ax2.legend()
plt.show()
""")

answer("dense_overfitting", """
**Your answer:** The network has about 100,000 weights and sees the same 60,000 images every
epoch, so it keeps improving on them by learning their particulars (a stroke's thickness, a
smudge) rather than what makes a digit. The training accuracy climbs towards 100% and the
training loss keeps falling, while the validation accuracy levels off around 98% and the
validation loss stops falling and rises again: the growing gap between the two curves is the
overfitting. A dense layer also sees every pixel position as a separate input, with no notion
of neighbouring pixels, which makes memorising easier than generalising. Fewer epochs (early
stopping), dropout, more data or a convolutional network reduce it.
""")

md("""
## A third dense layer

Add a third dense layer between `Dense(128)` and the output and try a few sizes; keep the
one with the best validation accuracy. (Not graded: compare your numbers with your
neighbours'. A few epochs are enough to see the differences, which are small.)
""")

code("""
results = {}
for units in (32, 64, 128, 256):
    keras.utils.set_random_seed(0)
    deeper = keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(units, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    deeper.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    run = deeper.fit(x_train, y_train, epochs=5, validation_data=(x_test, y_test), verbose=0)
    results[units] = max(run.history["val_accuracy"])
    print(units, round(results[units], 4))
print("best:", max(results, key=results.get))
""")

md("""
## Convolutions

A convolutional network keeps the image two-dimensional. With 5×5 filters and valid padding
(Keras' default), each convolution shrinks the image by 5 - 1 = 4 pixels, and each 2×2 max
pooling halves it (rounding down): 28 → 24 → 12 → 8 → 4.
""")

code("""
x_train_c, x_test_c = x_train[..., np.newaxis], x_test[..., np.newaxis]
conv_model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(6, 5, activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(16, 5, activation="relu"),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(10, activation="softmax"),
])
conv_model.summary()
""")

md("""
### A third convolution + pooling pair

After the second pair the feature maps are 4×4. Can a third `Conv2D` + `MaxPooling2D(2)`
pair still follow? The number of filters (channels) can be anything: it only sets the last
dimension of the output. The filter size cannot: a `Conv2D` with a k×k kernel (valid padding,
stride 1) on an s×s map outputs (s - k + 1)×(s - k + 1), and the 2×2 pooling after it keeps
(s - k + 1) // 2 on each side; the pair **fits** when at least one pixel is left, a 1×1 output.

Write `third_pair_choices(size, filters)`: for a `size`×`size` feature map and a convolution
with `filters` filters, return a list with one `(kernel_size, output_shape)` pair for **every**
kernel size k ≥ 1 for which `Conv2D(filters, k)` followed by `MaxPooling2D(2)` fits, in
increasing order of k, where `output_shape` is the shape after the pooling,
`(height, width, channels)`. For example on a 6×6 map with 8 filters, k = 2 gives a 5×5
convolution output and a `(2, 2, 8)` pooling output, so `(2, (2, 2, 8))` is in the list.
""")

graded("third pair", """
def third_pair_choices(size, filters):
    \"\"\"[(kernel_size, (height, width, filters)), ...] for every k >= 1 where Conv2D(filters, k)
    then MaxPooling2D(2) leave at least 1x1 of a size x size map; increasing k.\"\"\"
    # BEGIN SOLUTION
    choices = []
    for kernel_size in range(1, size + 1):
        side = (size - kernel_size + 1) // 2
        if side >= 1:
            choices.append((kernel_size, (side, side, filters)))
    return choices
    # END SOLUTION
""", "third_pair_choices")

code("""
for kernel_size, shape in third_pair_choices(4, 32):
    three_pairs = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(6, 5), layers.MaxPooling2D(2),
        layers.Conv2D(16, 5), layers.MaxPooling2D(2),
        layers.Conv2D(32, kernel_size), layers.MaxPooling2D(2),
    ])
    print(kernel_size, shape, "Keras:", three_pairs.output_shape[1:])
""")

md("""
## LeNet

LeNet-5 put two convolution + pooling pairs in front of three dense layers. Write
`build_lenet(conv_filters=(6, 16), dense_units=(120, 84))`: a `keras.Sequential` (or
functional) model for `(28, 28, 1)` images with these layers, where `f1, f2 = conv_filters`
and `u1, u2 = dense_units`:

| layer | output shape | parameters (defaults) |
|---|---|---|
| `Input(shape=(28, 28, 1))` | | |
| `Conv2D(f1, (5, 5), activation="relu")` | (24, 24, f1) | 156 |
| `MaxPooling2D(2)` | (12, 12, f1) | 0 |
| `Conv2D(f2, (5, 5), activation="relu")` | (8, 8, f2) | 2,416 |
| `MaxPooling2D(2)` | (4, 4, f2) | 0 |
| `Flatten()` | (16 × f2,) | 0 |
| `Dense(u1, activation="relu")` | (u1,) | 30,840 |
| `Dense(u2, activation="relu")` | (u2,) | 10,164 |
| `Dense(10, activation="softmax")` | (10,) | 850 |

44,426 parameters in all with the defaults: a fifth of the dense network's, because the
convolutions share their weights across the image. Compile it with the `adam` optimizer, the
`sparse_categorical_crossentropy` loss and `metrics=["accuracy"]` (by keyword), and return
it untrained. The grader builds it with other filter and unit counts too, and trains it
itself on MNIST.
""")

graded("build_lenet", """
def build_lenet(conv_filters=(6, 16), dense_units=(120, 84)):
    \"\"\"Two Conv2D(5x5) + MaxPooling2D(2) pairs, Flatten, Dense(u1), Dense(u2), Dense(10, softmax); compiled.\"\"\"
    # BEGIN SOLUTION
    f1, f2 = conv_filters
    u1, u2 = dense_units
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(f1, (5, 5), activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(f2, (5, 5), activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(u1, activation="relu"),
        layers.Dense(u2, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION
""", "build_lenet")

code("""
lenet = build_lenet()
lenet.summary()
history_lenet = lenet.fit(x_train_c, y_train, epochs=5, validation_data=(x_test_c, y_test))
plt.plot(history_long.history["val_accuracy"][:5], label="dense network")
plt.plot(history_lenet.history["val_accuracy"], label="LeNet")
plt.xlabel("epoch")
plt.ylabel("validation accuracy")
plt.legend()
plt.show()
""")

md("""
## Things to try

* `build_lenet((32, 64), (256, 128))`: how do the parameter count, the time per epoch and the
  validation accuracy change?
* Add the third convolution + pooling pair with one of your choices between the second pair
  and `Flatten`: what happens to the number of weights of the first dense layer?
* Train LeNet for 20 epochs: does it overfit as much as the dense network?
""")

raise SystemExit(nb.main(Path(__file__).with_name(f"{NAME}.ipynb")))
