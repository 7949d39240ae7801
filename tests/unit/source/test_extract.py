"""What extraction runs: scopes, aliases, exploration cells that train (grader/extract.py).

Cases from real DeepLearning.AI Course 1 submissions (issue 15): a graded function's
parameters and locals are not module-level needs, so exploration statements that happen to
bind the same names (``history = train_mnist(x_train, y_train)``, ``(x_train, y_train), _ =
mnist``, ``x_train = x_train / 255.0``) never run.
"""

from __future__ import annotations

import ast

from grader.source.extract import build_program, used_names
from grader.source.notebook import Cell, SubmissionFile

GRADED = ("graded",)


def sub(*cells: tuple[str, tuple[str, ...]]) -> SubmissionFile:
    return SubmissionFile(path=None, cells=[Cell(i, "code", s, t) for i, (s, t) in enumerate(cells)])  # type: ignore[arg-type]


def ranges(program) -> dict[str, list[tuple[int, int]] | None]:
    return {u.label: u.lines for u in program.units}


def free(source: str) -> set[str]:
    return used_names(ast.parse(source).body[0])


TRAIN = """# GRADED FUNCTION: train_mnist
def train_mnist(x_train, y_train):
    callbacks = myCallback()
    model = create_model()
    history = model.fit(x_train, y_train, epochs=10, callbacks=[callbacks])
    return history
"""


def test_parameters_do_not_pull_module_level_statements():
    program = build_program(sub(
        ("import tensorflow as tf\nmnist = tf.keras.datasets.mnist", ()),
        ("(x_train, y_train), _ = mnist\nx_train = x_train / 255.0", ()),
        (TRAIN, GRADED),
    ), ("train_mnist",))
    assert ranges(program) == {"graded cell 'FUNCTION: train_mnist'": None}


def test_locals_do_not_pull_a_top_level_training_cell():
    # `history` is a local of train_mnist; the exploration cell's `history = ...` trains
    program = build_program(sub(
        (TRAIN, GRADED),
        ("history = train_mnist(x_train, y_train)\nprint(history.epoch)", ()),
    ), ("train_mnist",))
    assert ranges(program) == {"graded cell 'FUNCTION: train_mnist'": None}


def test_normalising_at_top_level_is_not_pulled_by_a_parameter():
    program = build_program(sub(
        ("x_train = x_train / 255.0", ()),
        ("# GRADED: f\ndef f(x_train):\n    return x_train.mean()", GRADED),
    ), ("f",))
    assert "cell 1" not in ranges(program)


def test_a_module_level_free_name_is_still_pulled():
    program = build_program(sub(
        ("SCALE = 2\nscale = 3", ()),
        ("# GRADED: f\ndef f(x, scale=1):\n    return x * SCALE * scale", GRADED),
    ), ("f",))
    assert ranges(program)["cell 1"] == [(1, 1)]  # SCALE only: `scale` is a parameter


def test_class_methods_comprehensions_lambdas():
    assert free("class myCallback(tf.keras.callbacks.Callback):\n"
                "    def on_epoch_end(self, epoch, logs={}):\n"
                "        acc = logs.get('accuracy')\n"
                "        if acc is not None and acc > THRESHOLD:\n"
                "            self.model.stop_training = True\n") == {"tf", "THRESHOLD"}
    assert free("def f(xs):\n    return [x * k for x in xs for k in K] + list(map(lambda v: v + B, xs))") == {
        "K", "list", "map", "B"}
    # evaluated where the def is: defaults, decorators, annotations; and a class body's own reads
    assert free("@deco(X)\ndef f(a=DEFAULT) -> Ann:\n    global G\n    G = a\n    return H") == {
        "deco", "X", "DEFAULT", "Ann", "H"}
    assert free("class C(Base):\n    rate = RATE\n    def m(self):\n        return rate") == {"Base", "RATE", "rate"}
    # a name read and bound by one top-level statement is a module-level need
    assert free("x_train = x_train / 255.0") == {"x_train"}
    assert free("(x_train, y_train), _ = mnist") == {"mnist"}


def test_a_top_level_call_of_a_graded_function_never_runs():
    # even when graded code really reads the module-level name, the statement that defines
    # it calls a graded function (it trains): it is exploration, not a helper
    program = build_program(sub(
        (TRAIN, GRADED),
        ("history = train_mnist(x_train, y_train)", ()),
        ("# GRADED: report\ndef report():\n    return history.epoch", GRADED),
    ), ("train_mnist", "report"))
    assert "cell 2" not in ranges(program)


def test_a_graded_constant_found_by_name_may_call_a_graded_function():
    program = build_program(sub(
        ("def count(a, b):\n    return a * b + b\nWEIGHTS = count(784, 10)", ()),
    ), ("count", "WEIGHTS"))
    assert program.found_by_name == ["count", "WEIGHTS"]
    assert ranges(program)["cell 1"] == [(1, 2), (3, 3)]
