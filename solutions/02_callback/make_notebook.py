"""Generate the master notebook 02_callback.ipynb (run: python make_notebook.py).

The notebook is written from this script so that a review reads plain Python instead of
notebook JSON. Conventions (docs/AUTHORING.md): graded cells are tagged ``graded`` and
start with ``# GRADED: <label>``; solutions sit between ``# BEGIN SOLUTION`` and
``# END SOLUTION``; each graded cell is followed by a ``grader.check("<target>")`` cell
tagged ``check``.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.builder import MasterNotebook

NAME = "02_callback"

nb = MasterNotebook(NAME)
md, code, graded = nb.md, nb.code, nb.graded


md("""
# Stop training at 99% accuracy

`model.fit(x, y, epochs=10)` runs ten passes over the training data, whatever happens along
the way. Often you would rather say *"train until the model is good enough, then stop"*:
there is no point in paying for epochs that no longer help.

Keras lets you hook your own code into the training loop with **callbacks**. A callback is
an object whose methods `fit` calls at fixed moments: `on_train_begin`, `on_epoch_begin`,
`on_epoch_end`, `on_train_batch_end`... Each call receives a dictionary, `logs`, with the
numbers measured so far: after an epoch it holds the epoch's `loss` and every metric the model
was compiled with, under the metric's name (`logs["accuracy"]` for `metrics=["accuracy"]`).
A callback can also steer the training: it reaches the model through `self.model`, and when
it sets `self.model.stop_training = True`, `fit` finishes the current epoch and returns.

In this exercise you write a callback that stops training once the training accuracy reaches
a threshold, and use it to train a dense network on MNIST digits.

**How this notebook is graded.** Cells that start with `# GRADED:` are run by the grader:
write your code where it says `# YOUR CODE HERE` and keep the names. Your functions must use
only their arguments (the grader does not run the other cells). The `grader.check(...)` cell
after each graded cell runs the public checks on your answer.
""")

code("""
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
import keras

import grader
from grader.datasets import load_mnist
""")

md("""
## The data

MNIST: 60,000 training images of handwritten digits, 28×28 grey pixels (integers 0 to 255),
each with its label 0 to 9.
""")

code("""
(x_train, y_train), (x_test, y_test) = load_mnist()
print(x_train.shape, x_train.dtype, y_train[:10])

fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
for ax, image, label in zip(axes, x_train, y_train):
    ax.imshow(image, cmap="gray")
    ax.set_title(int(label))
    ax.axis("off")
plt.show()
""")

md("""
## The callback

Write `AccuracyThresholdCallback`, a subclass of `tf.keras.callbacks.Callback`:

* `__init__(self, threshold=0.99)` keeps the threshold (call `super().__init__()` first);
* `on_epoch_end(self, epoch, logs=None)`: when `logs["accuracy"]` is at least the threshold,
  it prints `Reached 99% accuracy so cancelling training!` (with the threshold's percentage:
  `Reached 90% ...` for `threshold=0.9`; `f"{0.9:.0%}"` gives `'90%'`) and sets
  `self.model.stop_training = True`.

Two details make a callback robust:

* `logs` may be `None`, or may not contain `"accuracy"` (a model compiled without that
  metric). Then the callback must do nothing, not crash: `logs = logs or {}` and
  `logs.get("accuracy")`, which returns `None` for a missing key.
* The key is `"accuracy"`. Keras 2 tutorials often write `metrics=["acc"]` and read
  `logs["acc"]`; Keras 3 logs a metric under the name you gave it, so with
  `metrics=["accuracy"]` the key is `"accuracy"` and `logs.get("acc")` is always `None`.
""")

graded("AccuracyThresholdCallback", """
class AccuracyThresholdCallback(tf.keras.callbacks.Callback):
    \"\"\"Stops training at the end of the first epoch whose accuracy reaches `threshold`.\"\"\"

    # BEGIN SOLUTION
    def __init__(self, threshold=0.99):
        super().__init__()
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy >= self.threshold:
            print(f"\\nReached {self.threshold:.0%} accuracy so cancelling training!")
            self.model.stop_training = True
    # END SOLUTION
""", "AccuracyThresholdCallback")

md("""
A callback is an ordinary object: you can try it without any training. Attach it to a model
and call its hook with made-up logs, as `fit` would:
""")

code("""
callback = AccuracyThresholdCallback(threshold=0.9)
callback.set_model(keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)]))
for logs in [{"loss": 0.4, "accuracy": 0.85}, None, {"loss": 0.2, "acc": 0.95},
             {"loss": 0.2, "accuracy": 0.92}]:
    callback.model.stop_training = False
    callback.on_epoch_end(0, logs)
    print(f"logs={logs}: stop_training={callback.model.stop_training}")
""")

md("""
## Training with the callback

Write `train_mnist(x_train, y_train)`:

1. scale the pixels to [0, 1] (divide by 255.0): a dense network learns much faster from small
   inputs than from 0..255;
2. build a dense model: `Flatten` the 28×28 images (`keras.Input(shape=(28, 28))` first), a
   hidden `Dense(512, activation="relu")` layer, and a `Dense(10, activation="softmax")`
   output;
3. compile it with `optimizer="adam"`, `loss="sparse_categorical_crossentropy"` and
   `metrics=["accuracy"]`, **by keyword**: in Keras 3 the third positional argument of
   `compile` is `loss_weights`, so Keras 2 code like `compile("adam", loss, ["accuracy"])`
   fails when `fit` starts;
4. fit for at most 10 epochs with `callbacks=[AccuracyThresholdCallback()]`, and return the
   `History` that `fit` returns.

Training stops as soon as the training accuracy reaches 99%: on MNIST that takes about 5 or 6
epochs.
""")

graded("train_mnist", """
def train_mnist(x_train, y_train):
    \"\"\"Train a dense network on MNIST until it reaches 99% training accuracy.\"\"\"
    # BEGIN SOLUTION
    x_train = x_train / 255.0
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=10,
                        callbacks=[AccuracyThresholdCallback()])
    return history
    # END SOLUTION
""", "train_mnist")

md("""
## The callback in a full training

Train on all 60,000 images. Watch the progress bar: after the epoch that reaches 99% your
message appears and `fit` returns, before the 10th epoch.
""")

code("""
keras.utils.set_random_seed(0)
history = train_mnist(x_train, y_train)
print("epochs run:", len(history.epoch), "of", history.params["epochs"])
""")

code("""
plt.plot(np.arange(1, len(history.epoch) + 1), history.history["accuracy"], marker="o")
plt.axhline(0.99, color="gray", linestyle="--", label="threshold")
plt.xlabel("epoch")
plt.ylabel("training accuracy")
plt.legend()
plt.show()
""")

md("""
99% is the accuracy on the images the model trained on. On new images it is a little lower:
the model has partly learnt the training set by heart. That is why a stop rule usually
watches a validation metric (`val_accuracy`) instead; Keras' own `EarlyStopping` callback does
that.
""")

code("""
test_loss, test_accuracy = history.model.evaluate(x_test / 255.0, y_test, verbose=0)
print(f"training accuracy {history.history['accuracy'][-1]:.4f}, test accuracy {test_accuracy:.4f}")
""")

raise SystemExit(nb.main(Path(__file__).with_name(f"{NAME}.ipynb")))
