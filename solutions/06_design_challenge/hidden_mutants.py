"""Mutation catalogue of 06_design_challenge for `grader mutants 06_design_challenge`
(docs/AUTHORING.md, "Measuring a suite"). Never released: `grader release` copies no hidden_* file.

MISTAKES: typical student designs that break a rule of the challenge (the budget, the input,
the output, the compile settings) or train badly, each replacing build_model (one mistake
each, none the same as a wrong submission in tests/submissions/06_design_challenge); `expect`
holds the words a good failing message about that mistake contains (any case).

inputs_build_model: no arguments; the returned models are compared as architectures (config
with canonical layer names, compile settings included). This is a design challenge: a
surviving operator mutant that builds another model within the rules (Dense(33) instead of
Dense(32)) is another right answer, not equivalent by the tool's rule; the report says which.
"""

_MODEL = '''def build_model():
    """A new Keras model for (28, 28, 1) images in [0, 1] -> 10 class probabilities, within
    200,000 parameters and 10,000,000 operations per image."""
    model = keras.Sequential([
@LAYERS@
    ])
    model.compile(@COMPILE@)
    return model
'''

_MASTER_LAYERS = '''        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 5, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(10, activation="softmax"),'''

_COMPILE = 'optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]'


def _model(layers_=_MASTER_LAYERS, compile_=_COMPILE):
    """The master's build_model with other layers or compile arguments."""
    return _MODEL.replace("@LAYERS@", layers_).replace("@COMPILE@", compile_)


def _swap(old, new):
    """The master's build_model with ``old`` replaced by ``new`` in its layers."""
    assert old in _MASTER_LAYERS, old
    return _model(_MASTER_LAYERS.replace(old, new))


MISTAKES = [
    # the budget
    {"name": "no_pooling", "replaces": "build_model", "expect": ["parameters", "at most 200,000"],
     "source": _swap('        layers.MaxPooling2D(2),\n', "")},
    {"name": "second_conv_before_pooling", "replaces": "build_model", "expect": ["operations", "at most 10,000,000"],
     "source": _swap('        layers.Conv2D(32, 5, activation="relu"),\n        layers.MaxPooling2D(2),\n',
                     '        layers.Conv2D(32, 5, padding="same", activation="relu"),\n'
                     '        layers.Conv2D(32, 3, padding="same", activation="relu"),\n'
                     '        layers.MaxPooling2D(4),\n')},
    # the input
    {"name": "no_input", "replaces": "build_model", "expect": ["keras.Input"],
     "source": _swap('        keras.Input(shape=(28, 28, 1)),\n', "")},
    {"name": "no_channel_axis", "replaces": "build_model", "expect": ["channel axis"],
     "source": _model('        keras.Input(shape=(28, 28)),\n'
                      '        layers.Flatten(),\n'
                      '        layers.Dense(128, activation="relu"),\n'
                      '        layers.Dense(10, activation="softmax"),')},
    # the output
    {"name": "relu_output", "replaces": "build_model", "expect": ["not probabilities", "softmax"],
     "source": _swap('layers.Dense(10, activation="softmax")', 'layers.Dense(10, activation="relu")')},
    {"name": "one_output", "replaces": "build_model", "expect": ["(10,)"],
     "source": _swap('layers.Dense(10, activation="softmax")', 'layers.Dense(1, activation="softmax")')},
    {"name": "no_return", "replaces": "build_model", "expect": ["None", "return"],
     "source": _model().replace("    return model\n", "")},
    # compile settings
    {"name": "categorical_loss", "replaces": "build_model", "expect": ["sparse_categorical_crossentropy"],
     "source": _model(compile_='optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"]')},
    # on the TensorFlow backend Keras takes the logits under the softmax when the loss gets
    # from_logits=True (keras.src.backend.tensorflow.nn._get_logits, with a warning): the same
    # training as the master's, so this one is equivalent in fact there (docs/BENCHMARKS.md)
    {"name": "from_logits_after_softmax", "replaces": "build_model", "expect": ["from_logits"],
     "source": _model(compile_='optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy('
                               'from_logits=True), metrics=["accuracy"]')},
    {"name": "adam_learning_rate_1", "replaces": "build_model", "expect": ["learning rate"],
     "source": _model(compile_='optimizer=keras.optimizers.Adam(learning_rate=1.0), '
                               'loss="sparse_categorical_crossentropy", metrics=["accuracy"]')},
    {"name": "plain_sgd", "replaces": "build_model", "expect": ["sgd"],
     "source": _model(compile_='optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"]')},
    # training badly within the rules
    {"name": "scaled_again", "replaces": "build_model", "expect": ["already scaled"],
     "source": _swap('        keras.Input(shape=(28, 28, 1)),\n',
                     '        keras.Input(shape=(28, 28, 1)),\n        layers.Rescaling(1.0 / 255),\n')},
    {"name": "no_hidden_activations", "replaces": "build_model", "expect": ["linear"],
     "source": _swap('layers.Conv2D(32, 5, activation="relu")', 'layers.Conv2D(32, 5)')
     .replace('layers.Dense(32, activation="relu")', 'layers.Dense(32)')},
]


def inputs_build_model(rng):
    """No arguments: the returned model is compared as an architecture (its config with
    canonical layer names, compile settings included)."""
    yield ()
