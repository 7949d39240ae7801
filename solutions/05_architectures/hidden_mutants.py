"""Mutation catalogue of 05_architectures for `grader mutants 05_architectures`
(docs/AUTHORING.md, "Measuring a suite"). Never released: `grader release` copies no hidden_* file.

MISTAKES: typical student answers, each replacing one graded definition; `expect` holds the
words a good failing message about that mistake contains (any case). inputs_steps_per_epoch
and inputs_third_pair_choices give the random arguments on which a surviving mutant of those
pure functions is compared with the master; build_lenet returns a fresh model (random
weights), which cannot be compared by running it, so it has no inputs_ and a surviving mutant
of it is never called equivalent.
"""

_PAIRS = '''def third_pair_choices(size, filters):
    """[(kernel_size, (height, width, filters)), ...] for every k >= 1 where Conv2D(filters, k)
    then MaxPooling2D(2) leave at least 1x1 of a size x size map; increasing k."""
    choices = []
    for kernel_size in range({start}, {stop}{step}):
        side = {side}
        if {fits}:
            choices.append((kernel_size, ({side_h}, {side_h}, {channels})))
    return choices
'''


def _pairs(start="1", stop="size + 1", step="", side="(size - kernel_size + 1) // 2", fits="side >= 1",
           side_h="side", channels="filters"):
    return _PAIRS.format(start=start, stop=stop, step=step, side=side, fits=fits, side_h=side_h,
                         channels=channels)


_LENET = '''def build_lenet(conv_filters=(6, 16), dense_units=(120, 84)):
    f1, f2 = {filters}
    u1, u2 = {units}
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(f1, ({k1}, {k1}), activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(f2, (5, 5), activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(u1, activation="relu"),
        {dense2}
        layers.Dense(10, activation="{out}"),
    ])
    model.compile({compile})
    return model
'''


def _lenet(filters="conv_filters", units="dense_units", k1="5", dense2='layers.Dense(u2, activation="relu"),',
           out="softmax", compile='optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]'):
    return _LENET.format(filters=filters, units=units, k1=k1, dense2=dense2, out=out, compile=compile)


MISTAKES = [
    # steps_per_epoch
    {"name": "floor", "replaces": "steps_per_epoch", "expect": ["rounded down"],
     "source": "def steps_per_epoch(n_examples, batch_size):\n    return n_examples // batch_size\n"},
    {"name": "true_division", "replaces": "steps_per_epoch", "expect": ["fraction"],
     "source": "def steps_per_epoch(n_examples, batch_size):\n    return n_examples / batch_size\n"},
    {"name": "floor_plus_one", "replaces": "steps_per_epoch", "expect": ["exact multiple"],
     "source": "def steps_per_epoch(n_examples, batch_size):\n    return n_examples // batch_size + 1\n"},
    {"name": "rounded", "replaces": "steps_per_epoch", "expect": ["nearest"],
     "source": "def steps_per_epoch(n_examples, batch_size):\n    return round(n_examples / batch_size)\n"},
    # third_pair_choices
    {"name": "conv_output_shape", "replaces": "third_pair_choices", "expect": ["convolution's output"],
     "source": _pairs(side_h="size - kernel_size + 1")},
    {"name": "pool_rounds_up", "replaces": "third_pair_choices", "expect": ["rounds down"],
     "source": _pairs(side_h="-(-(size - kernel_size + 1) // 2)")},
    {"name": "kernel_off_by_one", "replaces": "third_pair_choices", "expect": ["size - k + 1"],
     "source": _pairs(side="(size - kernel_size) // 2")},
    {"name": "fits_after_conv", "replaces": "third_pair_choices", "expect": ["after the pooling"],
     "source": _pairs(fits="size - kernel_size + 1 >= 1")},
    {"name": "odd_kernels_only", "replaces": "third_pair_choices", "expect": ["even kernel sizes"],
     "source": _pairs(step=", 2")},
    {"name": "no_1x1", "replaces": "third_pair_choices", "expect": ["1x1 convolution"],
     "source": _pairs(start="2")},
    {"name": "input_channels", "replaces": "third_pair_choices", "expect": ["channels"],
     "source": _pairs(channels="1")},
    # build_lenet
    {"name": "sizes_fixed", "replaces": "build_lenet", "expect": ["written into the code"],
     "source": _lenet(filters="6, 16", units="120, 84")},
    {"name": "kernel_3x3", "replaces": "build_lenet", "expect": ["Conv2D"], "source": _lenet(k1="3")},
    {"name": "no_second_dense", "replaces": "build_lenet", "expect": ["Dense"], "source": _lenet(dense2="")},
    {"name": "sigmoid_output", "replaces": "build_lenet", "expect": ["softmax"], "source": _lenet(out="sigmoid")},
    {"name": "wrong_dense_units", "replaces": "build_lenet", "expect": ["Dense"],
     "source": _lenet(units="dense_units[1], dense_units[0]")},
    {"name": "positional_metrics", "replaces": "build_lenet", "expect": ["metrics"],
     "source": _lenet(compile='"adam", "sparse_categorical_crossentropy", ["accuracy"]')},
]


def inputs_steps_per_epoch(rng):
    for _ in range(300):
        b = int(rng.integers(1, 600))
        kind = rng.random()
        if kind < 0.3:
            n = b * int(rng.integers(1, 400))  # an exact multiple
        elif kind < 0.5:
            n = int(rng.integers(1, b + 1))  # a batch at least as large as the data
        else:
            n = int(rng.integers(1, 100_000))
        yield n, b
    yield 60000, 32
    yield 60000, 100
    yield 1000, 64
    yield 7, 1


def inputs_third_pair_choices(rng):
    for size in range(1, 41):
        yield size, int(rng.integers(1, 257))
    for _ in range(40):
        yield int(rng.integers(1, 200)), int(rng.integers(1, 513))


def inputs_build_lenet(rng):
    """The defaults and other sizes: the returned models are compared as architectures."""
    yield ()
    yield ((6, 16), (120, 84))
    for _ in range(3):
        yield ((int(rng.integers(2, 33)), int(rng.integers(2, 33))), (int(rng.integers(8, 200)), int(rng.integers(8, 200))))
