"""Mutation catalogue of 03_cnn for `grader mutants 03_cnn`
(docs/AUTHORING.md, "Measuring a suite"). Never released: `grader release` copies no hidden_* file.

MISTAKES: typical student answers, each replacing one graded definition; `expect` holds the
words a good failing message about that mistake contains (any case). inputs_reshape_and_normalize
gives the random batches on which a surviving mutant of that pure function is compared with the
master; build_cnn returns a fresh model (random weights), which cannot be compared by running it,
so it has no inputs_ and a surviving mutant of it is never called equivalent.
"""

import numpy as np


def _reshape(body):
    return f"def reshape_and_normalize(images):\n    images = np.asarray(images)\n    return {body}\n"


_CNN = '''def build_cnn():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D({f1}, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(64, (3, 3), activation="relu"),
        {pool2}
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="{out}"),
    ])
    model.compile({compile})
    return model
'''


def _cnn(f1="64", pool2="layers.MaxPooling2D(2, 2),", out="softmax",
         compile='optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]'):
    return _CNN.format(f1=f1, pool2=pool2, out=out, compile=compile)


MISTAKES = [
    # reshape_and_normalize
    {"name": "not_scaled", "replaces": "reshape_and_normalize", "expect": ["not scaled"],
     "source": _reshape("images.astype(np.float32).reshape(-1, 28, 28, 1)")},
    {"name": "no_channel_axis", "replaces": "reshape_and_normalize", "expect": ["channel axis"],
     "source": _reshape("images.astype(np.float32) / np.float32(255.0)")},
    {"name": "channels_first", "replaces": "reshape_and_normalize", "expect": ["channel axis is first"],
     "source": _reshape("(images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)")},
    {"name": "float64", "replaces": "reshape_and_normalize", "expect": ["float32"],
     "source": _reshape("images.reshape(-1, 28, 28, 1) / 255.0")},
    {"name": "divide_by_256", "replaces": "reshape_and_normalize", "expect": ["256"],
     "source": _reshape("(images.astype(np.float32) / 256.0).reshape(-1, 28, 28, 1)")},
    {"name": "batch_max", "replaces": "reshape_and_normalize", "expect": ["largest value of this batch"],
     "source": _reshape("(images.astype(np.float32) / images.max()).reshape(-1, 28, 28, 1)")},
    {"name": "fixed_count", "replaces": "reshape_and_normalize", "expect": ["number of images"],
     "source": _reshape("(images.astype(np.float32) / 255.0).reshape(5, 28, 28, 1)")},
    {"name": "in_place", "replaces": "reshape_and_normalize", "expect": ["in-place"],
     "source": ("def reshape_and_normalize(images):\n"
                "    images.shape = (-1, 28, 28, 1)\n"
                "    return images.astype(np.float32) / np.float32(255.0)\n")},
    # build_cnn
    {"name": "32_filters", "replaces": "build_cnn", "expect": ["Conv2D"], "source": _cnn(f1="32")},
    {"name": "no_second_pooling", "replaces": "build_cnn", "expect": ["MaxPooling2D"], "source": _cnn(pool2="")},
    {"name": "sigmoid_output", "replaces": "build_cnn", "expect": ["softmax"], "source": _cnn(out="sigmoid")},
    {"name": "categorical_loss", "replaces": "build_cnn", "expect": ["sparse_categorical_crossentropy"],
     "source": _cnn(compile='optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"]')},
    {"name": "sgd", "replaces": "build_cnn", "expect": ["adam"],
     "source": _cnn(compile='optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"]')},
]


def inputs_reshape_and_normalize(rng):
    for _ in range(40):
        n = int(rng.integers(1, 40))
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        if rng.random() < 0.5:
            images.flat[0], images.flat[1] = 0, 255
        yield (images,)
    yield (np.zeros((3, 28, 28), dtype=np.uint8),)
    yield (np.full((2, 28, 28), 255, dtype=np.uint8),)


def inputs_build_cnn(rng):
    """No arguments: the returned model is compared as an architecture (its config with
    canonical layer names, compile settings included)."""
    yield ()
