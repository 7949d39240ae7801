"""Generate the master notebook 07_cnn_journey.ipynb (run: python make_notebook.py).

The notebook is written from this script so that a review reads plain Python instead of
notebook JSON. Conventions (docs/AUTHORING.md): graded cells are tagged ``graded`` and
start with ``# GRADED: <label>``; solutions sit between ``# BEGIN SOLUTION`` and
``# END SOLUTION``; each graded cell is followed by a ``grader.check("<target>")`` cell
tagged ``check``.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.builder import MasterNotebook

NAME = "07_cnn_journey"

nb = MasterNotebook(NAME)
md, code, graded = nb.md, nb.code, nb.graded


md("""
# A CNN on MNIST: stop at 99.8%, then follow an image through the convolutions

A convolutional network learns MNIST digits so well that its *training* accuracy climbs
above 99% within a few epochs. In this exercise you

1. write a **callback** that stops the training as soon as the training accuracy is above
   **99.8%**, and use it to train a small CNN;
2. write `layer_outputs(model, images)`, which returns what every convolution and pooling
   layer of a model computes for some images: the **journey of an image** through the
   network. With it you draw the *activation maps* of one filter for three digits.

**How this notebook is graded.** Cells that start with `# GRADED:` are run by the grader:
write your code where it says `# YOUR CODE HERE` and keep the names. Your code must use only
its arguments (the grader does not run the other cells). The `grader.check(...)` cell after
each graded cell runs the public checks on your answer. The grader also trains a small CNN of
its own with your callback, and calls your `layer_outputs` on models of its own.
""")

code("""
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
import keras
from keras import layers

import grader
from grader.datasets import load_mnist
""")

md("""
## The data

MNIST: 60,000 training and 10,000 test images of handwritten digits, 28×28 grey pixels
(integers 0 to 255). A convolution wants a channel axis and small numbers: `(N, 28, 28, 1)`
`float32` values in [0, 1].
""")

code("""
(train_images, train_labels), (test_images, test_labels) = load_mnist()
x_train = (train_images / 255.0).astype("float32")[..., np.newaxis]
x_test = (test_images / 255.0).astype("float32")[..., np.newaxis]
print(x_train.shape, x_train.dtype, x_train.min(), x_train.max())
""")

md("""
## The callback: stop above 99.8%

After each epoch, `fit` calls `on_epoch_end(epoch, logs)` on every callback it was given.
`logs` is a dictionary of the epoch's numbers: its `loss` and each metric the model was
compiled with, under the metric's name (`logs["accuracy"]` for `metrics=["accuracy"]`). A
callback stops the training by setting `self.model.stop_training = True`: `fit` then returns
after the current epoch.

Write `myCallback`, a subclass of `tf.keras.callbacks.Callback` (the lesson's name), whose
`on_epoch_end(self, epoch, logs=None)`:

* when `logs["accuracy"]` is **greater than 0.998** (strictly: exactly 0.998 is not enough),
  prints `Reached 99.8% accuracy so cancelling training!` and sets
  `self.model.stop_training = True`;
* otherwise does nothing.

Three details:

* The threshold is a fraction: 99.8% is `0.998`, not `99.8`, and not the `0.99` of the
  99% exercise.
* `logs` may be `None`, or may not hold `"accuracy"` (a model compiled without that metric):
  then the callback does nothing and must not crash: `logs = logs or {}` and
  `logs.get("accuracy")`, which is `None` for a missing key.
* The key is `"accuracy"`. Keras 2 code often reads `logs["acc"]`; Keras 3 logs the metric
  under the name it was given, so with `metrics=["accuracy"]` there is no `"acc"`.
""")

graded("myCallback", """
class myCallback(tf.keras.callbacks.Callback):
    \"\"\"Stops training at the end of the first epoch whose accuracy is above 99.8%.\"\"\"

    # BEGIN SOLUTION
    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy > 0.998:
            print("\\nReached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True
    # END SOLUTION
""", "myCallback")

md("""
A callback is an ordinary object: try it without training. Attach a model and call the hook
with made-up logs, as `fit` would:
""")

code("""
callback = myCallback()
callback.set_model(keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)]))
for logs in [{"loss": 0.1, "accuracy": 0.99}, {"loss": 0.1, "accuracy": 0.998}, None,
             {"loss": 0.1, "acc": 0.9995}, {"loss": 0.1, "accuracy": 0.9985}]:
    callback.model.stop_training = False
    callback.on_epoch_end(0, logs)
    print(f"logs={logs}: stop_training={callback.model.stop_training}")
""")

md("""
## Training a CNN with the callback

The lesson's MNIST network: one convolution with 32 filters, 2×2 max pooling, then a dense
classifier. On all 60,000 images a CPU needs about a minute per epoch, and 99.8% takes many
epochs; to try the callback quickly, train on the first 2,000 images, which the network
learns by heart within a few epochs (then the message appears and `fit` returns early).
""")

code("""
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(32, (3, 3), activation="relu"),
    layers.MaxPooling2D(2, 2),
    layers.Conv2D(64, (3, 3), activation="relu"),
    layers.MaxPooling2D(2, 2),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train[:2000], train_labels[:2000], epochs=20, callbacks=[myCallback()])
print("epochs run:", len(history.epoch), "of", history.params["epochs"])
""")

md("""
## The journey of an image through the layers

What does each layer compute? The lesson builds a second model that shares the first one's
layers but returns the output of every layer:

```python
activation_model = keras.Model(inputs=model.inputs,
                               outputs=[layer.output for layer in model.layers])
```

Calling it on a batch of images gives one array per layer. The output of a `Conv2D` layer
with 32 filters for N images has shape `(N, 26, 26, 32)`: for each image, one 26×26
**activation map** per filter, bright where the filter found its pattern. A `MaxPooling2D`
layer halves the height and width of every map.

Write `layer_outputs(model, images)`:

* `model` is a Keras model made of layers such as `Conv2D`, `MaxPooling2D`, `Flatten` and
  `Dense`; `images` is a `(N, 28, 28, 1)` `float32` array, already scaled to [0, 1]
  (do not scale it again);
* it returns a **list** with one numpy array for each `Conv2D` and `MaxPooling2D` layer of
  the model, **in the order of `model.layers`**, each the layer's output for all the images,
  of shape `(N, height, width, channels)`. Skip the other layers (`Flatten`, `Dense`):
  `isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))` tells them apart.
* It must work for any such model, not just this notebook's: do not assume how many
  convolution and pooling layers there are, or where. A model with only **one** of them
  still gets a list, of one array. Careful: an activation model with a single output
  returns that output itself (one array of shape `(N, height, width, channels)`), not a
  list of one, and a loop over that array goes through the images.

**`model.inputs` in Keras 3.** A model knows its inputs only once it is *built*: a
`Sequential` model that starts with `keras.Input(...)` is built at once, and so is any model
that has been trained or called. A `Sequential` without an `Input` that has never been
called has no inputs yet: `model.inputs` raises `AttributeError: Sequential model ... has no
defined inputs yet`. Build such a model first by calling it on the images:
`model(images[:1])`, then `model.inputs` exists.

`predict` returns numpy arrays; calling the model directly (`activation_model(images)`)
returns tensors, which `np.asarray(...)` turns into arrays.
""")

graded("layer_outputs", """
def layer_outputs(model, images):
    \"\"\"The output of each Conv2D and MaxPooling2D layer of `model` for `images`, in order.\"\"\"
    # BEGIN SOLUTION
    if not model.built:
        model(images[:1])
    wanted = [layer for layer in model.layers
              if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))]
    activation_model = keras.Model(inputs=model.inputs,
                                   outputs=[layer.output for layer in wanted])
    outputs = activation_model.predict(images, verbose=0)
    if not isinstance(outputs, (list, tuple)):  # a model with one output returns one array
        outputs = [outputs]
    return [np.asarray(output) for output in outputs]
    # END SOLUTION
""", "layer_outputs")

md("""
## Activation maps of one filter

Three test images of the same digit; each row follows filter `FILTER` through the
convolution and pooling layers of the trained model: its map after the first convolution,
after pooling, after the second convolution, after pooling again. A filter that lights up in
the same places for the three images has learnt a pattern the digit shares; the maps get
smaller and more abstract from layer to layer.
""")

code("""
sevens = np.flatnonzero(test_labels == 7)[:3]
FILTER = 1  # try others: 0 to 31 (the second convolution has 64)
outputs = layer_outputs(model, x_test[sevens])
names = [layer.name for layer in model.layers
         if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))]

fig, axes = plt.subplots(3, len(outputs) + 1, figsize=(13, 8))
for row in range(3):
    axes[row, 0].imshow(test_images[sevens[row]], cmap="gray")
    for col, output in enumerate(outputs, start=1):
        axes[row, col].imshow(output[row, :, :, FILTER], cmap="inferno")
        if row == 0:
            axes[row, col].set_title(f"{names[col - 1]}\\n{output.shape[1:3]}")
axes[0, 0].set_title("input")
for ax in axes.flat:
    ax.axis("off")
plt.show()
""")

md("""
## Things to try

* Change `FILTER`: some filters respond to horizontal strokes, some to vertical ones, some
  to the background.
* Train on more images (or all 60,000) and compare how many epochs 99.8% takes; compare the
  test accuracy, `model.evaluate(x_test, test_labels)`, with the training accuracy at the stop.
* Call `layer_outputs` on a model you build without `keras.Input` and never call: see the
  `AttributeError`, and that your function handles it.
""")

raise SystemExit(nb.main(Path(__file__).with_name(f"{NAME}.ipynb")))
