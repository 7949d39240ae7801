"""Mutation catalogue of 07_cnn_journey for `grader mutants 07_cnn_journey`
(docs/AUTHORING.md, "Measuring a suite"). Never released: `grader release` copies no hidden_* file.

MISTAKES: typical student answers, each replacing one graded definition (one mistake each;
the wrong submissions in tests/submissions/07_cnn_journey combine two); `expect` holds the
words a good failing message about that mistake contains (any case).

myCallback is a class: two classes are never the same object, so its mutants cannot be
compared by running them and it has no inputs_; the tool then calls no mutant of this
exercise equivalent (it compares every graded name). inputs_layer_outputs is there for a
comparison by hand of a surviving layer_outputs mutant (grader.course.mutants.equivalent with
names=["layer_outputs"]): the grader's three journey models, built and unbuilt, on random images.
"""

_CALLBACK = '''class myCallback(tf.keras.callbacks.Callback):
    def @HOOK@, logs=None):
        accuracy = (logs or {}).get(@KEY@)
        if accuracy is not None and accuracy @OP@ @THRESHOLD@:
            print("\\nReached 99.8% accuracy so cancelling training!")
            @WHO@.stop_training = True
'''


def _callback(hook="on_epoch_end(self, epoch", key='"accuracy"', op=">", threshold="0.998", who="self.model"):
    return (_CALLBACK.replace("@HOOK@", hook).replace("@KEY@", key).replace("@OP@", op)
            .replace("@THRESHOLD@", threshold).replace("@WHO@", who))


_LAYER_OUTPUTS = '''def layer_outputs(model, images):
@BUILD@    wanted = [layer for layer in @LAYERS@
              if isinstance(layer, @KINDS@)]
    activation_model = keras.Model(inputs=model.inputs,
                                   outputs=[layer.@OUTPUT@ for layer in wanted])
    outputs = activation_model.predict(@IMAGES@, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return @RETURN@
'''

_BUILD = "    if not model.built:\n        model(images[:1])\n"


def _outputs(build=_BUILD, layers_="model.layers", kinds="(layers.Conv2D, layers.MaxPooling2D)", output="output",
             images="images", returned="[np.asarray(output) for output in outputs]"):
    return (_LAYER_OUTPUTS.replace("@BUILD@", build).replace("@LAYERS@", layers_).replace("@KINDS@", kinds)
            .replace("@OUTPUT@", output).replace("@IMAGES@", images).replace("@RETURN@", returned))


MISTAKES = [
    # myCallback
    {"name": "greater_equal", "replaces": "myCallback", "expect": ["'>='", "instead of"],
     "source": _callback(op=">=")},
    {"name": "keras2_acc_key", "replaces": "myCallback", "expect": ["'acc'", "Keras 2"],
     "source": _callback(key='"acc"')},
    {"name": "percent_threshold", "replaces": "myCallback", "expect": ["not 99.8"],
     "source": _callback(threshold="99.8")},
    {"name": "threshold_too_high", "replaces": "myCallback", "expect": ["threshold above 0.998"],
     "source": _callback(threshold="0.9998")},
    {"name": "own_stop_flag", "replaces": "myCallback", "expect": ["self.model.stop_training"],
     "source": _callback(who="self")},
    {"name": "on_batch_end", "replaces": "myCallback", "expect": ["on_epoch_end"],
     "source": _callback(hook="on_batch_end(self, batch")},
    {"name": "key_error", "replaces": "myCallback", "expect": ["logs.get('accuracy')"],
     "source": ("class myCallback(tf.keras.callbacks.Callback):\n"
                "    def on_epoch_end(self, epoch, logs=None):\n"
                "        logs = logs or {}\n"
                "        if logs[\"accuracy\"] > 0.998:\n"
                "            print(\"\\nReached 99.8% accuracy so cancelling training!\")\n"
                "            self.model.stop_training = True\n")},
    {"name": "prints_every_epoch", "replaces": "myCallback", "expect": ["only when you stop"],
     "source": ("class myCallback(tf.keras.callbacks.Callback):\n"
                "    def on_epoch_end(self, epoch, logs=None):\n"
                "        accuracy = (logs or {}).get(\"accuracy\")\n"
                "        print(\"\\nReached 99.8% accuracy so cancelling training!\")\n"
                "        if accuracy is not None and accuracy > 0.998:\n"
                "            self.model.stop_training = True\n")},
    # layer_outputs
    {"name": "every_layer", "replaces": "layer_outputs", "expect": ["Flatten and Dense included"],
     "source": ("def layer_outputs(model, images):\n"
                "    if not model.built:\n"
                "        model(images[:1])\n"
                "    activation_model = keras.Model(inputs=model.inputs,\n"
                "                                   outputs=[layer.output for layer in model.layers])\n"
                "    return [np.asarray(output) for output in activation_model.predict(images, verbose=0)]\n")},
    {"name": "conv_only", "replaces": "layer_outputs", "expect": ["MaxPooling2D layers' outputs are missing"],
     "source": _outputs(kinds="layers.Conv2D")},
    {"name": "not_built", "replaces": "layer_outputs", "expect": ["model(images[:1])"],
     "source": _outputs(build="")},
    {"name": "first_image_only", "replaces": "layer_outputs", "expect": ["instead of all"],
     "source": _outputs(images="images[:1]")},
    {"name": "layer_inputs", "replaces": "layer_outputs", "expect": ["layer.output"],
     "source": _outputs(output="input")},
    {"name": "skips_first_layer", "replaces": "layer_outputs", "expect": ["InputLayer"],
     "source": _outputs(layers_="model.layers[1:]")},
    {"name": "dict_by_name", "replaces": "layer_outputs", "expect": ["a dict", "list"],
     "source": _outputs(returned="{layer.name: np.asarray(output) for layer, output in zip(wanted, outputs)}")},
]


def inputs_layer_outputs(rng):
    """(model, images): the grader's lesson, other and single (one-convolution) models
    (seeded weights), built and not, on 1 to 5 random images in [0, 1]. For a comparison by
    hand (see the module's docstring)."""
    # imported here: `grader mutants` loads the catalogue itself, and needs neither Keras nor
    # journey_budget (beside this file, not on the comparison child's path) for that
    import sys
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import journey_budget

    models = [journey_budget.journey_model(name, int(rng.integers(0, 100)))
              for name in ("lesson", "other", "single")]
    for model in models:
        for built in (True, False):
            images = rng.random((int(rng.integers(1, 6)), 28, 28, 1), dtype=np.float32)
            yield journey_budget.model_from_description(journey_budget.describe(model), built=built), images
