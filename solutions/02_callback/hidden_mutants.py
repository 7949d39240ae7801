"""Mutation catalogue of 02_callback for `grader mutants 02_callback`
(docs/AUTHORING.md, "Measuring a suite"). Never released: `grader release` copies no hidden_* file.

MISTAKES: typical student answers, each replacing one graded definition; `expect` holds the
words a good failing message about that mistake contains (any case). Both graded names are a
callback class and a training function: neither can be compared cheaply by running it, so
there is no inputs_<name> and a surviving mutant is never called equivalent.
"""

_CALLBACK = '''class AccuracyThresholdCallback(tf.keras.callbacks.Callback):
    def __init__(self, threshold=0.99):
        super().__init__()
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        accuracy = {read}
        if {test}:
            print({message})
            {stop} = True
'''


def _callback(read='(logs or {}).get("accuracy")', test="accuracy is not None and accuracy >= self.threshold",
              message='f"\\nReached {self.threshold:.0%} accuracy so cancelling training!"',
              stop="self.model.stop_training"):
    return _CALLBACK.format(read=read, test=test, message=message, stop=stop)


_TRAIN = '''def train_mnist(x_train, y_train):
    {scale}
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    {compile}
    history = model.fit(x_train, y_train, {fit})
    return {result}
'''


def _train(scale="x_train = x_train / 255.0",
           compile='model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])',
           fit="epochs=10, callbacks=[AccuracyThresholdCallback()]", result="history"):
    return _TRAIN.format(scale=scale, compile=compile, fit=fit, result=result)


MISTAKES = [
    # AccuracyThresholdCallback
    {"name": "strictly_greater", "replaces": "AccuracyThresholdCallback", "expect": ["'>' instead of '>='"],
     "source": _callback(test="accuracy is not None and accuracy > self.threshold")},
    {"name": "keras2_acc_key", "replaces": "AccuracyThresholdCallback", "expect": ["'acc'"],
     "source": _callback(read='(logs or {}).get("acc")')},
    {"name": "own_stop_flag", "replaces": "AccuracyThresholdCallback", "expect": ["self.model.stop_training"],
     "source": _callback(stop="self.stop_training")},
    {"name": "threshold_ignored", "replaces": "AccuracyThresholdCallback", "expect": ["threshold", "ignored"],
     "source": _callback(test="accuracy is not None and accuracy >= 0.99",
                         message='"\\nReached 99% accuracy so cancelling training!"')},
    {"name": "no_none_logs", "replaces": "AccuracyThresholdCallback", "expect": ["logs or {}"],
     "source": _callback(read='logs["accuracy"]', test="accuracy >= self.threshold")},
    {"name": "message_fraction", "replaces": "AccuracyThresholdCallback", "expect": ["percentage"],
     "source": _callback(message='f"Reached {self.threshold}% accuracy so cancelling training!"')},
    {"name": "message_always_99", "replaces": "AccuracyThresholdCallback", "expect": ["follow the threshold"],
     "source": _callback(message='"Reached 99% accuracy so cancelling training!"')},
    {"name": "no_message", "replaces": "AccuracyThresholdCallback", "expect": ["should print"],
     "source": _callback(message='end=""')},
    # train_mnist
    {"name": "no_callback", "replaces": "train_mnist", "expect": ["callbacks="],
     "source": _train(fit="epochs=10")},
    {"name": "too_many_epochs", "replaces": "train_mnist", "expect": ["epochs"],
     "source": _train(fit="epochs=20, callbacks=[AccuracyThresholdCallback()]")},
    {"name": "keras2_acc_metric", "replaces": "train_mnist", "expect": ["metrics=['accuracy']"],
     "source": _train(compile='model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", '
                              'metrics=["acc"])')},
    {"name": "positional_metrics", "replaces": "train_mnist", "expect": ["by keyword"],
     "source": _train(compile='model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])')},
    {"name": "returns_model", "replaces": "train_mnist", "expect": ["History"],
     "source": _train(result="model")},
    {"name": "not_scaled", "replaces": "train_mnist", "expect": ["scaled"],
     "source": _train(scale="pass")},
]
