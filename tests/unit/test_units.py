"""Fast unit tests of the engine's pure parts: protocol, extraction, release, checks, config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from grader.batch.device import DeviceChoice, choose, split_cores
from grader.checks import CheckFailed, expect_array, expect_close, expect_equal
from grader.config import ConfigError, Limits, parse_size
from grader.course.release import public_suite, strip_solution_source
from grader.source.extract import build_program
from grader.source.notebook import Cell, SubmissionFile
from grader.worker import protocol


def sub(*cells: tuple[str, str, tuple[str, ...]]) -> SubmissionFile:
    return SubmissionFile(path=None, cells=[Cell(i, k, s, t) for i, (k, s, t) in enumerate(cells)])  # type: ignore[arg-type]


# ---------------------------------------------------------------- protocol
def test_protocol_round_trip():
    value = {"a": [1, 2.5, None, True, "x"], "t": (1, 2), "arr": np.arange(6, dtype=np.int16).reshape(2, 3),
             "nan": float("nan"), "inf": float("-inf")}
    back = protocol.decode(protocol.encode(value))
    assert back["a"] == [1, 2.5, None, True, "x"] and back["t"] == (1, 2)
    assert back["arr"].dtype == np.int16 and back["arr"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert np.isnan(back["nan"]) and back["inf"] == float("-inf")


@pytest.mark.parametrize("bad", [object(), np.array(["a", "b"]), np.array([object()]), {1: 2}, {"__nd__": 1}])
def test_protocol_refuses_objects(bad):
    with pytest.raises(protocol.NotPlainData):
        protocol.encode(bad)


def test_protocol_numpy_subclass_arrives_as_plain_ndarray():
    class Sneaky(np.ndarray):
        def __eq__(self, other):  # noqa: D105
            return True

    value = np.arange(3).view(Sneaky)
    back = protocol.decode(protocol.encode(value))
    assert type(back) is np.ndarray and back.tolist() == [0, 1, 2]


def test_protocol_rejects_forged_frames():
    good = protocol.encode({"x": np.zeros(4)})
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(b"XXXX" + good[4:])
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(good + b"junk")
    forged = protocol.encode({"x": 1}).replace(b'{"x": 1}', b'{"__nd__": 0, "dtype": "object", "shape": [1]}')
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(forged)


# ---------------------------------------------------------------- extraction
def test_only_graded_cells_and_imports_run():
    program = build_program(sub(
        ("code", "import numpy as np\nimport matplotlib.pyplot as plt\nx = np.ones(3)\nmodel.fit(x, epochs=100)", ()),
        ("code", "# GRADED: f\ndef f(a):\n    return helper(a)", ()),
        ("code", "def helper(a):\n    return np.abs(a) * SCALE\nSCALE = 2\nhistory = model.fit(epochs=100)", ()),
        ("code", "%matplotlib inline\n!pip install foo\nprint('explore')", ()),
    ), ("f",))
    ranges = {u.label: u.lines for u in program.units}
    assert ranges["cell 1"] == [(1, 1)]  # only the import the graded code uses (numpy, not matplotlib)
    assert ranges["graded cell 'f'"] is None  # the graded cell runs whole
    assert ranges["cell 3"] == [(1, 2), (3, 3)]  # helper + SCALE, never the fit
    assert "cell 4" not in ranges
    assert not program.problems


def test_lost_tag_is_found_by_name_last_definition_wins():
    program = build_program(sub(
        ("code", "def f():\n    return 1", ()),
        ("code", "def f():\n    return 2\nWEIGHTS = count(784, 10)", ()),
    ), ("f", "WEIGHTS"))
    assert program.found_by_name == ["f", "WEIGHTS"]
    assert [u.lines for u in program.units] == [[(1, 2), (3, 3)]]


def test_missing_and_syntax_errors_are_problems_not_crashes():
    program = build_program(sub(("code", "# GRADED: f\ndef f(:\n", ("graded",))), ("f", "g"))
    assert any("syntax error on line 2" in p for p in program.problems)
    assert any("`g` is not defined" in p for p in program.problems)


# ---------------------------------------------------------------- release
def test_solutions_become_stubs():
    src = "def f(x):\n    # BEGIN SOLUTION\n    y = x * 2\n    return y\n    # END SOLUTION\nN = 5  # SOLUTION\n# BEGIN SOLUTION NO PROMPT\nsecret = 1\n# END SOLUTION"
    out = strip_solution_source(src)
    assert out == "def f(x):\n    # YOUR CODE HERE\n    ...\nN = ...  # YOUR CODE HERE"


def test_public_suite_drops_hidden_tests():
    src = 'import pytest\n\n@pytest.mark.points(1)\ndef test_a():\n    pass\n\n\n@pytest.mark.hidden\n@pytest.mark.points(2)\ndef test_b():\n    SECRET = 123\n\n\ndef test_c():\n    pass\n'
    out = public_suite(src)
    assert "test_a" in out and "test_c" in out
    assert "test_b" not in out and "SECRET" not in out


# ---------------------------------------------------------------- checks
def test_checks_explain_likely_mistakes():
    with pytest.raises(CheckFailed, match="percentage"):
        expect_close(75.0, 0.75, what="accuracy", mistakes=[(75.0, "you returned a percentage")])
    with pytest.raises(CheckFailed, match="expected a number"):
        expect_close(True, 1.0, what="accuracy")
    with pytest.raises(CheckFailed, match="expected 5, found True"):
        expect_equal(True, 5, what="count")
    expect_equal(24.0, 24, what="size")
    with pytest.raises(CheckFailed, match="flipped"):
        expect_array(np.array([3, 2, 1]), np.array([1, 2, 3]), what="conv",
                     mistakes=[(np.array([3, 2, 1]), "the kernel is flipped")])
    with pytest.raises(CheckFailed, match="shape"):
        expect_array(np.zeros((2, 2)), np.zeros((3, 3)), what="conv")


# ---------------------------------------------------------------- config and device
def test_sizes_and_limits():
    assert parse_size("2GiB") == 2 * 1024**3 and parse_size("512MB") == 512 * 1024**2 and parse_size(10) == 10
    limits = Limits().merged({"timeout": 5, "memory": "1GiB"})
    assert limits.timeout == 5 and limits.memory == 1024**3
    with pytest.raises(ConfigError):
        Limits().merged({"bogus": 1})


def test_device_choice_on_a_cpu_machine(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert choose("cpu") == DeviceChoice("cpu", 0)
    assert choose("auto").name in ("cpu", "gpu")
    groups = split_cores(2)
    assert len(groups) == 2 and all(groups)
    assert DeviceChoice("gpu", 2).gpu_for(3) == 1 and DeviceChoice("cpu", 0).gpu_for(1) is None


def test_model_config_allows_keras_functions_only():
    from grader.engine.model_policy import check_config

    def check_model_config(config, name):
        check_config(config, name, error=CheckFailed)

    def fn(name, module="builtins"):
        return {"module": module, "class_name": "function", "config": name, "registered_name": "function"}

    check_model_config({"loss": fn("sparse_categorical_crossentropy"), "metrics": [fn("relu")]}, "m")
    for bad in [
        {"loss": fn("my_custom_loss")},
        {"loss": fn("system", "os")},
        {"layers": [{"module": "keras.layers", "class_name": "Lambda", "config": {}, "registered_name": None}]},
        {"layers": [{"module": "mypackage", "class_name": "Dense", "config": {}, "registered_name": None}]},
        {"layers": [{"module": "keras.layers", "class_name": "Dense", "config": {}, "registered_name": "evil>Dense"}]},
    ]:
        with pytest.raises(CheckFailed):
            check_model_config(bad, "m")


def test_tf_spellings_of_keras_activations_are_rebuilt_as_keras_ones():
    """activation=tf.nn.softmax / tf.nn.relu (issue 15): accepted, rebuilt equal to the
    Keras-named model; a TensorFlow function with no Keras equivalent is still refused."""
    import json

    import keras
    import tensorflow as tf

    from grader.engine.submission import ModelObservation, _model_observation

    def observe(model, compiled=True):
        if compiled:
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        data = {"config": model.to_json(), "weights": model.get_weights(),
                "compile_config": json.dumps(model.get_compile_config()) if compiled else None}
        return _model_observation(data, "create_and_compile_model", "")

    def dense(hidden, out):
        keras.utils.set_random_seed(1)
        return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                 keras.layers.Dense(8, activation=hidden), keras.layers.Dense(10, activation=out)])

    tf_model = observe(dense(tf.nn.relu, tf.nn.softmax))
    keras_model = observe(dense("relu", "softmax"))
    assert "softmax_v2" in dense(tf.nn.relu, tf.nn.softmax).to_json()  # what Keras 3 really writes
    def layers(found):
        return [{k: v for k, v in layer["config"].items() if k != "name"} for layer in found.config["config"]["layers"]]

    assert layers(tf_model) == layers(keras_model)
    assert [layer["config"].get("activation") for layer in tf_model.config["config"]["layers"]][-2:] == ["relu", "softmax"]
    rebuilt, reference = tf_model.model, keras_model.model

    def built(model):
        return [{k: v for k, v in layer.get_config().items() if k != "name"} for layer in model.layers]

    assert built(rebuilt) == built(reference)
    assert rebuilt.loss == reference.loss == "sparse_categorical_crossentropy"
    x = np.random.default_rng(0).random((4, 28, 28)).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-6)
    assert observe(dense(tf.nn.relu, tf.nn.log_softmax), compiled=False).model.layers[-1].get_config()["activation"] == "log_softmax"
    for unknown in (tf.nn.crelu, tf.exp, tf.nn.softmax_cross_entropy_with_logits):
        found = observe(dense("relu", unknown), compiled=False)
        with pytest.raises(CheckFailed, match="custom functions can't be graded"):
            found.model  # noqa: B018
    assert isinstance(tf_model, ModelObservation)


def test_clean_output_drops_ansi_and_progress_redraws():
    from grader.engine.submission import clean_output

    raw = ("Epoch 1/10\n\x1b[1m  1/313\x1b[0m \x1b[32m━\x1b[0m\x1b[37m━━\x1b[0m 0.1000"
           "\r\x1b[1m313/313\x1b[0m \x1b[32m━━━\x1b[0m\x1b[1m 2s\x1b[0m - accuracy: 0.9012\r\n"
           "\x1b]0;title\x07Reached 98% accuracy so cancelling training!\n12\b3\n")
    assert clean_output(raw) == ("Epoch 1/10\n313/313 ━━━ 2s - accuracy: 0.9012\n"
                                 "Reached 98% accuracy so cancelling training!\n13\n")
    assert clean_output("plain\n") == "plain\n" and clean_output("") == ""


def test_graded_aliases_from_the_config(tmp_path):
    from grader.config import load_course

    (tmp_path / "autograder.toml").write_text(
        '[assignments.a]\nnotebook = "a.ipynb"\nsuite = "t.py"\n'
        'graded = ["EarlyStoppingCallback|myCallback", "train_mnist"]\n')
    spec = load_course(tmp_path / "autograder.toml").assignments["a"]
    assert spec.graded == ("EarlyStoppingCallback", "train_mnist")
    assert spec.aliases == {"EarlyStoppingCallback": ("myCallback",)}
    (tmp_path / "autograder.toml").write_text('[assignments.a]\nnotebook = "a"\nsuite = "t"\ngraded = ["a|b c"]\n')
    with pytest.raises(ConfigError, match="names joined by"):
        load_course(tmp_path / "autograder.toml")


def test_an_alias_is_bound_to_the_canonical_name_after_the_cells():
    program = build_program(sub(
        ("code", "# GRADED CLASS: myCallback\nclass myCallback:\n    pass", ("graded",)),
        ("code", "# GRADED FUNCTION: train\ndef train():\n    return myCallback()", ("graded",)),
    ), ("EarlyStoppingCallback", "train"), {"EarlyStoppingCallback": ("myCallback",)})
    assert program.renamed == {"EarlyStoppingCallback": "myCallback"} and not program.problems
    assert "EarlyStoppingCallback" in program.defined
    last = program.units[-1]
    assert last.kind == "alias" and last.source == "if 'myCallback' in globals():\n    EarlyStoppingCallback = myCallback\n"
    ns: dict = {}
    for unit in program.units:
        exec(compile(unit.source, unit.filename, "exec"), ns)  # noqa: S102 - our own test code
    assert ns["EarlyStoppingCallback"] is ns["myCallback"]
    # the canonical spelling wins when both are there; an untagged alias is found by name
    both = build_program(sub(("code", "class myCallback: pass\nclass EarlyStoppingCallback: pass", ())),
                         ("EarlyStoppingCallback",), {"EarlyStoppingCallback": ("myCallback",)})
    assert not both.renamed and both.found_by_name == ["EarlyStoppingCallback"]
    old = build_program(sub(("code", "class myCallback: pass", ())),
                        ("EarlyStoppingCallback",), {"EarlyStoppingCallback": ("myCallback",)})
    assert old.renamed == {"EarlyStoppingCallback": "myCallback"} and old.found_by_name == ["myCallback"]


# ---------------------------------------------------------------- public-only scores, results.json
def _result(**kw):
    from grader.model import SubmissionResult, TestResult

    tests = {"t": TestResult("t", "t: one", 1.0, 1.0, "passed", "", False, "t")}
    return SubmissionResult("s", "s.py", "demo", "ok", "", 1.0, 1.0, tests, **kw)


def test_a_public_only_score_says_what_it_counts():
    from grader.reports.results import public_checks_line, summary

    assert public_checks_line(12, 12, 6, True) == (
        "public checks: 12 of 12 points; hidden checks and explanation questions are graded after submission")
    assert public_checks_line(0, 1, 2, False) == "public checks: 0 of 1 point; hidden checks are graded after submission"
    assert public_checks_line(3, 4, 0, True).endswith("; explanation questions are graded after submission")
    assert public_checks_line(3, 4, 0, False).endswith("; this assignment has no hidden checks or explanation questions")
    assert "hidden checks (if any) are graded" in public_checks_line(3, 4, None, False)
    manual = [{"name": "why", "points": 2.0, "prompt": "", "answer": ""}]
    text = summary(_result(manual=manual), hidden=False, public_only=True, hidden_checks=3)
    assert text.splitlines()[:2] == [
        "s: demo  status ok  device cpu",
        "  public checks: 1 of 1 point; hidden checks and explanation questions are graded after submission"]
    assert "score 1/1" in summary(_result(manual=manual))  # a full grading keeps its score line


def test_hidden_check_count_reads_the_suite_or_the_public_copy(tmp_path):
    from grader.config import load_course
    from grader.course.release import build_release
    from grader.engine.marks import hidden_check_count

    course = load_course(Path(__file__).resolve().parents[1] / "course" / "autograder.toml")
    demo = course.assignment("demo")
    assert hidden_check_count(course, demo) == 1
    public = build_release(course, ["demo"]).files[course.assignments_dir / "demo" / "tests" / demo.suite.name]
    copy = tmp_path / "assignments" / "demo" / "tests" / demo.suite.name
    copy.parent.mkdir(parents=True)
    copy.write_text(public, "utf-8")
    student = dataclasses.replace(course, assignments_dir=tmp_path / "assignments")
    shipped = dataclasses.replace(demo, suite=tmp_path / "not_shipped" / demo.suite.name)  # a student's copy
    assert hidden_check_count(student, shipped) == 1  # from the public suite's first line
    assert hidden_check_count(student, dataclasses.replace(demo, suite=tmp_path / "other_name.py")) is None


def test_results_json_stores_the_sandbox_report():
    from grader.reports.results import gradescope

    report = {"started": "forked from the warm runner", "network": "blocked: own network namespace, no interface up"}
    assert gradescope(_result(sandbox=report))["extra_data"]["sandbox"] == report
    assert "no report" in gradescope(_result())["extra_data"]["sandbox"]["started"]
