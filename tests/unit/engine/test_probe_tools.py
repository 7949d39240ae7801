"""What a suite can ask of a probe: watch the student's own ``fit`` (record_fit) and share
helper code between probes (``helpers=``), without monkeypatching Keras in every probe.

The student here trains at the end of a function, with a callback class defined inside it
(the 2019 template of DeepLearning.AI's callbacks exercise), for more epochs than the
grader's budget allows.
"""

from __future__ import annotations

import pytest

from grader.config import load_course
from grader.engine.grading import grade_file

STUDENT = '''
import numpy as np
import tensorflow as tf

def train(x, y):
    class Stopper(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if (logs or {}).get("accuracy", 0) >= 0.95:
                print("Reached 95% accuracy so cancelling training!")
                self.model.stop_training = True

    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, activation=tf.nn.softmax)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, epochs=50, batch_size=8, callbacks=[Stopper()], verbose=0)
'''

HELPERS = '''
def stops_at(callback, accuracy):
    """A helper shared by several probes: does the callback stop training at this accuracy?"""
    callback.model.stop_training = False
    callback.on_epoch_end(0, {"accuracy": accuracy})
    return bool(callback.model.stop_training)
'''

SUITE = '''
import numpy as np
import pytest

import probe_helpers
from grader.checks import expect


def probe_budget(ns, x, y):
    import numpy as np  # a probe runs in a scope of its own: it imports what it uses

    with record_fit(max_epochs=2) as fits:
        history = ns["train"](np.asarray(x, "float32"), np.asarray(y))
    return {"calls": fits.calls, "returned": type(history).__name__}


def probe_callback(ns, x, y):
    import numpy as np

    with record_fit(train=False) as fits:
        ns["train"](np.asarray(x, "float32"), np.asarray(y))
    [callback] = fits.callbacks
    return {"below": stops_at(callback, 0.90), "at": stops_at(callback, 0.95), "calls": len(fits.calls)}


def probe_broken_helper(ns):
    return does_not_exist()


@pytest.mark.points(1)
@pytest.mark.target("train")
def test_budget(submission):
    """train: fit is capped to the grader's budget and observed"""
    x, y = np.eye(4)[[0, 1, 2, 3] * 4].tolist(), ([0, 1, 2, 0] * 4)
    found = submission.probe(probe_budget, x, y)
    [call] = found["calls"]
    expect(call["epochs"] == 50 and call["epochs_allowed"] == 2 and call["epochs_run"] == 2, str(call))
    expect(call["samples"] == 16 and call["batch_size"] == 8, str(call))
    expect(call["callbacks"] == ["train.<locals>.Stopper"], str(call))
    expect(len(call["history"]["accuracy"]) == 2 and found["returned"] == "History", str(found))


@pytest.mark.points(1)
@pytest.mark.target("train")
def test_nested_callback(submission):
    """train: the callback defined inside train stops at 0.95, not below"""
    x, y = np.eye(4)[[0, 1, 2, 3]].tolist(), [0, 1, 2, 0]
    found = submission.probe(probe_callback, x, y, helpers=[probe_helpers])
    expect(found == {"below": False, "at": True, "calls": 1}, str(found))


@pytest.mark.points(1)
@pytest.mark.target("train")
def test_helper_missing(submission):
    """train: a probe that calls a helper it was not given"""
    submission.probe(probe_broken_helper)
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> object:
    root = tmp_path_factory.mktemp("probe_course")
    (root / "fit").mkdir()
    (root / "fit" / "test_fit.py").write_text(SUITE)
    (root / "fit" / "probe_helpers.py").write_text(HELPERS)
    (root / "autograder.toml").write_text(
        '[course]\nname = "probe tools"\nseed = 3\npreload = ["numpy"]\n'
        '[limits]\ntimeout = 60\nmemory = "3GiB"\n'
        '[assignments.fit]\nnotebook = "fit/fit.ipynb"\nsuite = "fit/test_fit.py"\ngraded = ["train"]\n')
    student = root / "student.py"
    student.write_text(STUDENT)
    return grade_file(student, assignment="fit", course=load_course(root / "autograder.toml"))


def test_record_fit_caps_the_epochs_and_records_the_call(graded):
    check = graded.tests["test_budget"]
    assert check.status == "passed", check.output


def test_a_callback_class_inside_a_function_is_exercised_with_shared_helpers(graded):
    check = graded.tests["test_nested_callback"]
    assert check.status == "passed", check.output


def test_a_probe_calling_a_helper_it_was_not_given_is_the_graders_error(graded):
    check = graded.tests["test_helper_missing"]
    assert check.status == "grader-error", check
    assert "does_not_exist" in check.detail and "your code" not in check.output


def test_keras_fit_is_restored_after_the_block():
    keras = pytest.importorskip("keras")
    from grader.worker.fit_recorder import record_fit

    original = keras.Model.fit
    with pytest.raises(RuntimeError), record_fit(train=False):
        assert keras.Model.fit is not original
        raise RuntimeError("the probe failed inside the block")
    assert keras.Model.fit is original
