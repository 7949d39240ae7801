"""Generate the master notebook 06_design_challenge.ipynb (run: python make_notebook.py).

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

NAME = "06_design_challenge"
PROMPTS = {  # the same prompts as [[assignments.06_design_challenge.manual]] in autograder.toml
    "what_you_tried": "What did you try before settling on your model (at least two designs), what did "
                      "each reach on your validation images, and why do you think the one you chose "
                      "did best within the budget?",
}

nb = MasterNotebook(NAME, prompts=PROMPTS)
md, code, graded, answer = nb.md, nb.code, nb.graded, nb.answer


md("""
# Design challenge: the best Fashion-MNIST classifier within a budget

Until now each exercise told you which layers to use. This time you choose. Design a Keras
model that classifies Fashion-MNIST images as well as it can **within a budget**, the way
networks for phones and small devices are designed:

| rule | limit |
|---|---|
| input | images of shape `(28, 28, 1)`, `float32` pixels in [0, 1] |
| output | 10 probabilities per image (a `softmax` at the end) |
| parameters | at most **200,000** (`model.count_params()`) |
| computation | at most **10,000,000** operations per image (a multiply-add counts 2) |
| layers | Keras' own layers only (`Dense`, `Conv2D`, `MaxPooling2D`, `BatchNormalization`, `Dropout`, `GlobalAveragePooling2D`, ...); no `Lambda` and no layer class of your own |
| training | the grader's: 6,000 training images, 3 epochs, batch size 32, at most 90 seconds of training |

**How this notebook is graded.** The cell that starts with `# GRADED:` is run by the grader:
write `build_model()` where it says `# YOUR CODE HERE`; it must use nothing defined in other
cells. The grader calls it, checks the model against the rules above, then **trains a fresh
copy itself** (new random weights, its own choice of 6,000 training images and its own seed)
and measures it on the 10,000 Fashion-MNIST **test** images, which your code never sees:

* 1 point: the model keeps the rules (the `grader.check` cell checks this one);
* 1 point: the input and output are as above (also checked by `grader.check`);
* 1 point: it trains without the loss becoming NaN (*not a number*);
* 2 points: test accuracy at least **0.77**, what a plain dense network reaches on this budget;
* 2 points: test accuracy at least **0.815**, what a small convolutional network reaches;
* 2 points: your explanation at the end, read by your instructor.

**Compiling.** If `build_model()` returns a compiled model, the grader trains it with your
optimizer (and learning rate), loss and metrics; settings that change how Keras runs
(`run_eagerly`, `jit_compile`, `steps_per_execution`) are ignored. If it returns the model
uncompiled, the grader compiles it with `optimizer="adam"` and
`loss="sparse_categorical_crossentropy"`.

**Leaderboard.** A model that keeps the rules and trains gets a leaderboard entry: its test
accuracy (higher is better), its number of parameters and its training time in seconds
(lower is better). A model over the budget gets a message with its numbers and no entry.
""")

code("""
import time

import numpy as np
import matplotlib.pyplot as plt
import keras
from keras import layers

import grader
from grader.datasets import load_fashion_mnist
""")

md("""
## The data and your own validation images

The grader measures your model on the test images, so do not use them to choose a design:
that would make the choice fit those 10,000 images. Keep some training images apart as
**validation** images instead, and compare designs on them.
""")

code("""
(train_images, train_labels), (test_images, test_labels) = load_fashion_mnist()
x_all = (train_images.astype("float32") / 255.0)[..., np.newaxis]  # (60000, 28, 28, 1) in [0, 1]
y_all = train_labels

rng = np.random.default_rng(0)
order = rng.permutation(len(x_all))
x_train, y_train = x_all[order[:6000]], y_all[order[:6000]]        # the grader's budget: 6,000 images
x_val, y_val = x_all[order[-10000:]], y_all[order[-10000:]]        # yours, for choosing a design
print(x_train.shape, x_val.shape)
""")

md("""
## Counting the cost of a design

`model.count_params()` counts the parameters. The operations per image follow from the
layers' shapes:

* `Dense(units)` on `n` inputs: 2 × n × units;
* `Conv2D(filters, k)` with an output of h × w and `c` input channels:
  2 × h × w × filters × (k × k × c) — a convolution is cheap in parameters but can be
  expensive in operations when its output is large, so pool early;
* pooling, activations and normalization cost little next to these.

`grader.check("build_model")` prints both numbers for your model as the grader counts them.
""")

code("""
def trial(build, epochs=3, seed=0):
    \"\"\"Train a fresh model from build() as the grader does, but score it on YOUR validation images.\"\"\"
    keras.utils.set_random_seed(seed)
    model = build()
    if not model.compiled:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(np.argmax(model.predict(x_val, verbose=0), axis=1) == y_val))
    print(f"{model.count_params():,} parameters, {seconds:.1f} s of training, "
          f"validation accuracy {accuracy:.3f}")
    return model


def dense_baseline():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


baseline = trial(dense_baseline)
""")

md("""
## Your model

Write `build_model()`: it takes no arguments and returns a **new** Keras model that keeps the
rules of the table at the top (compiled or not, see *Compiling*). Start from the dense
baseline above, then try convolutions and pooling, a different width, `BatchNormalization`,
`Dropout`, another learning rate... and compare each on your validation images with
`trial(build_model)`. Keep notes for the question at the end.
""")

graded("build_model", """
def build_model():
    \"\"\"A new Keras model for (28, 28, 1) images in [0, 1] -> 10 class probabilities, within
    200,000 parameters and 10,000,000 operations per image.\"\"\"
    # BEGIN SOLUTION
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 5, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION
""", "build_model")

code("""
model = trial(build_model)
model.summary()
""")

md("""
## Things to try

* Pooling right after the first convolution divides the cost of everything after it by 4.
* `GlobalAveragePooling2D()` instead of `Flatten()` makes the last `Dense` layer tiny.
* A larger learning rate (`keras.optimizers.Adam(learning_rate=0.003)`) may help in 3 epochs;
  a far too large one (say 10) makes the loss NaN.
* Train on all 60,000 images for 10 epochs: which design is best when time is not short?
""")

answer("what_you_tried", """
**Your answer:** The dense baseline (Flatten, Dense(128), 101,770 parameters) reached about 0.80
on my validation images. Two 3x3 convolution + pooling pairs (16 and 32 filters) before a
Dense(64) layer reached about 0.81: better, but slow to start in 3 epochs. One 5x5 convolution
with 32 filters, pooling, then a small Dense(32) layer reached about 0.83 with 148,650
parameters and about 1.2 million operations per image: a single convolution already finds
edges and textures wherever they are (it reuses the same weights at every position), pooling
halves the image so the Dense layer after it stays within the budget, and a shallow network
has fewer layers to get right in a few hundred steps. Without pooling, a second convolution
on the full image cost more than the budget's operations.
""", points=2)

raise SystemExit(nb.main(Path(__file__).with_name(f"{NAME}.ipynb")))
