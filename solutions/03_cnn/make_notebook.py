"""Generate the master notebook 03_cnn.ipynb (run: python make_notebook.py).

The notebook is written from this script so that a review reads plain Python instead of
notebook JSON. Conventions (docs/AUTHORING.md): graded cells are tagged ``graded`` and
start with ``# GRADED: <label>``; solutions sit between ``# BEGIN SOLUTION`` and
``# END SOLUTION``; each graded cell is followed by a ``grader.check("<target>")`` cell
tagged ``check``.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.builder import MasterNotebook

NAME = "03_cnn"

nb = MasterNotebook(NAME)
md, code, graded = nb.md, nb.code, nb.graded


md("""
# A convolutional network for Fashion-MNIST

A dense network sees an image as a long list of 784 numbers: it has no idea which pixels are
neighbours, so a shirt moved two pixels to the left looks like a different list. A
**convolutional** network keeps the picture two-dimensional. Each `Conv2D` layer slides small
3×3 grids of weights (its **filters**) over the image; every filter learns to respond to one
local pattern (an edge, a corner, a stripe) wherever it appears. A `MaxPooling2D` layer then
halves the height and width by keeping the strongest response of each 2×2 block, so the next
convolution looks at a wider part of the original picture with the same 3×3 window.

Stacking *convolution → pooling* twice turns a 28×28 picture into a small stack of feature
maps that say *which* patterns are present and *roughly where*. A `Flatten` layer lays them
out as one vector and ordinary `Dense` layers do the classification.

In this exercise you prepare the Fashion-MNIST images for a convolutional network, build the
network, look at its shapes, and watch an image travel through its layers.

**How this notebook is graded.** Cells that start with `# GRADED:` are run by the grader:
write your code where it says `# YOUR CODE HERE` and keep the function names. Your functions
must use only their arguments (the grader does not run the other cells). The
`grader.check(...)` cell after each graded cell runs the public checks on your answer. The
grader also trains the model your `build_cnn()` returns, on its own, and measures it on test
images your code never sees.
""")

code("""
import numpy as np
import matplotlib.pyplot as plt
import keras
from keras import layers

import grader
from grader.datasets import load_fashion_mnist
""")

md("""
## The data

Fashion-MNIST has the shape of MNIST (28×28 grey images, 60,000 for training and 10,000 for
testing, 10 classes) but shows clothes instead of digits, which is harder: a shirt and a
T-shirt look a lot alike at this size.
""")

code("""
(train_images, train_labels), (test_images, test_labels) = load_fashion_mnist()
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
print(train_images.shape, train_images.dtype, train_images.min(), train_images.max())

fig, axes = plt.subplots(2, 8, figsize=(14, 4))
for ax, image, label in zip(axes.flat, train_images, train_labels):
    ax.imshow(image, cmap="gray")
    ax.set_title(class_names[label], fontsize=9)
    ax.axis("off")
plt.show()
""")

md("""
## Preparing the images

Two things change before the images go into the network:

* **A channel axis.** `Conv2D` works on images with *channels*: a colour photo has 3 (red,
  green, blue), a grey image has 1. Keras expects the channels last, so a batch of grey
  images has shape `(N, 28, 28, 1)`, not `(N, 28, 28)`. The values are the same; only the
  shape gains an axis of length 1 (`images.reshape(-1, 28, 28, 1)` or
  `images[..., np.newaxis]`).
* **Scaling.** The pixels are integers from 0 to 255. Networks train much better on small
  numbers, so divide by 255 to get floats in [0, 1]. Keras computes in `float32`; numpy's
  division gives `float64`, so convert.

Write `reshape_and_normalize(images)`: it takes a `(N, 28, 28)` `uint8` array and returns a
**new** `(N, 28, 28, 1)` `float32` array with values in [0, 1]. It must work for any number of
images, and must not change the array it was given.
""")

graded("reshape_and_normalize", """
def reshape_and_normalize(images):
    \"\"\"(N, 28, 28) uint8 images -> a new (N, 28, 28, 1) float32 array in [0, 1].\"\"\"
    # BEGIN SOLUTION
    images = np.asarray(images)
    return (images.astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    # END SOLUTION
""", "reshape_and_normalize")

code("""
x_train = reshape_and_normalize(train_images)
x_test = reshape_and_normalize(test_images)
print(x_train.shape, x_train.dtype, x_train.min(), x_train.max())
""")

md("""
## The network

Build this model with `keras.Sequential` (or the functional API, if you prefer):

| layer | output shape | parameters |
|---|---|---|
| `Input(shape=(28, 28, 1))` | | |
| `Conv2D(64, (3, 3), activation="relu")` | (26, 26, 64) | 640 |
| `MaxPooling2D(2, 2)` | (13, 13, 64) | 0 |
| `Conv2D(64, (3, 3), activation="relu")` | (11, 11, 64) | 36,928 |
| `MaxPooling2D(2, 2)` | (5, 5, 64) | 0 |
| `Flatten()` | (1600,) | 0 |
| `Dense(128, activation="relu")` | (128,) | 204,928 |
| `Dense(10, activation="softmax")` | (10,) | 1,290 |

and compile it with the `adam` optimizer, the `sparse_categorical_crossentropy` loss (the
labels are the integers 0 to 9) and `metrics=["accuracy"]`. Pass the metrics **by keyword**:
in Keras 3 the third positional argument of `compile` is `loss_weights`, not `metrics`.

Where the numbers come from:

* a 3×3 convolution without padding (`padding="valid"`, the default) cannot be centred on the
  outermost pixels, so each side loses 3 - 1 = 2 pixels: 28 → 26;
* each of the 64 filters of the first layer has 3×3×1 weights and a bias: 64 × 10 = 640;
  in the second layer a filter sees all 64 input channels: 64 × (3×3×64 + 1) = 36,928;
* pooling 2×2 halves each side, rounding down: 26 → 13, 11 → 5;
* `Flatten` gives 5 × 5 × 64 = 1600 numbers, so the first `Dense` layer has
  128 × (1600 + 1) = 204,928 weights: most of the model's 243,786 parameters.

`build_cnn()` returns the compiled model (it does not train it).
""")

graded("build_cnn", """
def build_cnn():
    \"\"\"The convolutional network of the table above, compiled.\"\"\"
    # BEGIN SOLUTION
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
    # END SOLUTION
""", "build_cnn")

md("""
## Looking at the model

`model.summary()` lists each layer with its output shape and parameter count. Compare it with
the table above: the first dimension, `None`, is the batch size, which can be anything.
""")

code("""
model = build_cnn()
model.summary()
""")

md("""
## A short training

A few thousand images and two epochs are enough to see the network learn (the full training
set for 5 epochs gives about 90% test accuracy; try it when you have a few minutes).
""")

code("""
keras.utils.set_random_seed(0)
model = build_cnn()
history = model.fit(x_train[:12000], train_labels[:12000], epochs=2, batch_size=64)
test_loss, test_accuracy = model.evaluate(x_test, test_labels, verbose=0)
print(f"test accuracy: {test_accuracy:.3f}")
""")

md("""
## The journey of an image through the layers

What do the layers compute? A second model that shares the trained layers but returns the
output of each of the first four layers (convolution, pooling, convolution, pooling) shows
it. Below, each row is one of three images of the same class (ankle boots); the columns
follow one filter (`FILTER`) through the four layers: its feature map after the first
convolution, after pooling, after the second convolution, after pooling again. A filter
that lights up in the same places for all three boots has learnt a pattern shared by the
class; the maps get smaller and more abstract from layer to layer.
""")

code("""
activation_model = keras.Model(inputs=model.inputs,
                               outputs=[layer.output for layer in model.layers[:4]])
boots = np.flatnonzero(test_labels == 9)[:3]
FILTER = 1  # try other filters: 0 to 63

fig, axes = plt.subplots(3, 5, figsize=(13, 8))
for row, index in enumerate(boots):
    outputs = activation_model.predict(x_test[index:index + 1], verbose=0)
    axes[row, 0].imshow(test_images[index], cmap="gray")
    axes[row, 0].set_title("input" if row == 0 else "")
    for col, output in enumerate(outputs, start=1):
        axes[row, col].imshow(output[0, :, :, FILTER], cmap="inferno")
        if row == 0:
            axes[row, col].set_title(f"{model.layers[col - 1].name}\\n{output.shape[1:3]}")
for ax in axes.flat:
    ax.axis("off")
plt.show()
""")

md("""
The first convolution's filters themselves are 3×3 grids of weights; after training, many
look like small edge detectors (a bright side next to a dark side).
""")

code("""
kernels = model.layers[0].get_weights()[0]  # (3, 3, 1, 64)
fig, axes = plt.subplots(2, 8, figsize=(12, 3))
for i, ax in enumerate(axes.flat):
    ax.imshow(kernels[:, :, 0, i], cmap="coolwarm")
    ax.axis("off")
plt.show()
""")

md("""
## Things to try

* Use 16 or 32 filters instead of 64: how do the parameter count, the speed and the accuracy
  change?
* Remove the second convolution and pooling: the Dense layer gets 13×13×64 inputs; check the
  new parameter count with `model.summary()`.
* Train for more epochs and compare the training accuracy with the test accuracy: when the
  first keeps rising and the second does not, the network is *overfitting*.
""")

raise SystemExit(nb.main(Path(__file__).with_name(f"{NAME}.ipynb")))
