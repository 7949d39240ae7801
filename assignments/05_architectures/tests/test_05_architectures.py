# Public checks only: 4 hidden check(s) are run by the grader, not shipped.
"""Grading suite of 05_architectures: steps per epoch, a third convolution + pooling pair, LeNet.

``steps_per_epoch`` and ``third_pair_choices`` are judged by arithmetic done here (public
checks on the lesson's numbers, which never print the expected value; hidden checks on
random sizes). ``build_lenet`` is judged on the model it returns, rebuilt on the trusted
side from its config: layer kinds, output shapes and parameter counts (with the default
sizes, public; with other sizes, hidden), activations, compile settings. A hidden check
trains a fresh copy of the submitted architecture (new weights, the submission's compile
settings) on the profile's MNIST budget and measures its validation accuracy on MNIST test
images, which never reach the student's code (``lenet_budget.py`` beside this file, also
run by ``hidden_calibrate.py``; docs/CALIBRATION.md).
"""

from __future__ import annotations

import functools
import math
import os

import pytest

from grader.checks import (
    CheckFailed,
    compare_layers,
    compile_problems,
    describe_layers,
    expect,
    format_rows,
    show,
    spec,
)

# --------------------------------------------------------------------------- trusted Keras
#
# Every expected value is what Keras / tf.data compute on this side (the batches of a
# dataset, the output shape of a layer), never a formula of the suite's own; the exercise's
# tests (tests/exercises/test_05_architectures.py) compare them with the lesson's arithmetic.


@functools.cache
def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


@functools.cache
def right_steps(n: int, batch: int) -> int:
    """The batches of n examples in batches of ``batch``, as tf.data (which fit uses) counts them."""
    import tensorflow as tf

    return int(tf.data.Dataset.range(n).batch(batch).cardinality())


@functools.cache
def keras_pair(size: int, kernel: int, filters: int) -> tuple | None:
    """The output shape of Conv2D(filters, kernel) then MaxPooling2D(2) on a size x size map,
    as Keras computes it; None when Keras refuses (nothing would be left)."""
    keras = _keras()
    try:
        conv = keras.layers.Conv2D(filters, kernel).compute_output_shape((None, size, size, 1))
        pooled = keras.layers.MaxPooling2D(2).compute_output_shape(conv)
    except ValueError:  # "Computed output size would be zero or negative"
        return None
    shape = tuple(int(v) for v in pooled[1:])
    return shape if min(shape) >= 1 else None


def right_choices(size: int, filters: int) -> list:
    return [(k, keras_pair(size, k, filters)) for k in range(1, size + 1) if keras_pair(size, k, filters)]


# --------------------------------------------------------------------------- helpers


def _is_int(value) -> bool:
    """A whole number (an int, or a float with no fraction); never a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value == int(value)


def likely(cases: list, mistakes: list, right) -> str:
    """" Likely mistake: ..." when one mistake reproduces every found value of the check
    (and is not the right answer on all of them), else "".

    ``cases``: (inputs, found) of each call; ``mistakes``: (explanation, function of the inputs).
    """
    named = []
    for explanation, fn in mistakes:
        values = [fn(*inputs) for inputs, _ in cases]
        if all(_same(found, v) for (_, found), v in zip(cases, values, strict=True)) and any(
                not _same(v, right(*inputs)) for (inputs, _), v in zip(cases, values, strict=True)):
            named.append(explanation)
    return f" Likely mistake: {named[0]}" if len(set(named)) == 1 else ""


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return a == b


# --------------------------------------------------------------------------- steps_per_epoch


STEPS_MISTAKES = [
    ("you rounded down (n_examples // batch_size): the examples left over after the last full "
     "batch still make one more, smaller batch, which is a step too; round up",
     lambda n, b: n // b),
    ("you returned n_examples / batch_size, a fraction; steps are whole batches: round it up "
     "(math.ceil)", lambda n, b: n / b),
    ("you added 1 to n_examples // batch_size: that counts one step too many when the data is "
     "an exact multiple of the batch size (60,000 / 32 has no smaller last batch); round up "
     "instead (math.ceil(n_examples / batch_size))", lambda n, b: n // b + 1),
    ("you rounded to the nearest integer; a leftover of even one example is one more step: "
     "round up", lambda n, b: round(n / b)),
    ("you divided batch_size by n_examples; the steps are the number of batches in the data: "
     "n_examples / batch_size, rounded up", lambda n, b: b / n),
]


def call_steps(submission, inputs: list) -> list:
    cases = []
    for n, b in inputs:
        cases.append(((n, b), submission.call("steps_per_epoch", n, b)))
    return cases


def judge_steps(cases: list, reveal: bool) -> None:
    for (n, b), found in cases:
        what = f"steps_per_epoch({n}, {b})"
        if not _is_int(found):
            if isinstance(found, float):
                raise CheckFailed(f"{what}: found {show(found)}, a fraction; the number of steps is "
                                  "a whole number of batches." + likely(cases, STEPS_MISTAKES, right_steps))
            raise CheckFailed(f"{what}: expected an integer, found {show(found)} "
                              f"({type(found).__name__}).")
        expected = right_steps(n, b)
        if found != expected:
            shown = f"expected {expected}, found {show(found)}" if reveal else f"{show(found)} is not right"
            hint = likely(cases, STEPS_MISTAKES, right_steps) or (
                " Count the batches of batch_size examples in n_examples examples, the last batch "
                "possibly smaller.")
            raise CheckFailed(f"{what}: {shown}.{hint}")


@pytest.mark.points(1)
@pytest.mark.target("steps_per_epoch")
def test_steps_per_epoch_lesson(submission):
    """steps_per_epoch: 60,000 images in batches of 32 and of 100; 1,000 in batches of 64 and 300"""
    cases = call_steps(submission, [(60000, 32), (60000, 100), (1000, 64), (1000, 300)])
    judge_steps(cases, reveal=False)


# --------------------------------------------------------------------------- third_pair_choices


def normalize_choices(found, what: str) -> list:
    """The found value as [(k, (h, w, c)), ...], or a failed check saying what is wrong with it."""
    form = ("a list of (kernel_size, (height, width, channels)) pairs, e.g. "
            "[(1, (5, 5, 8)), (2, (4, 4, 8))]")
    if not isinstance(found, (list, tuple)):
        raise CheckFailed(f"{what}: expected {form}; found {show(found)} ({type(found).__name__}).")
    pairs = []
    for item in found:
        ok = (isinstance(item, (list, tuple)) and len(item) == 2 and _is_int(item[0])
              and isinstance(item[1], (list, tuple)) and len(item[1]) == 3
              and all(_is_int(v) for v in item[1]))
        if not ok:
            hint = ""
            if _is_int(item):
                hint = (" You returned kernel sizes only; give each with the shape after the pooling: "
                        "(kernel_size, (height, width, channels)).")
            elif isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], (list, tuple)) \
                    and len(item[1]) == 2:
                hint = " The shape has three numbers: (height, width, channels); the channels are the filters."
            raise CheckFailed(f"{what}: expected {form}; the item {show(item)} is not such a pair.{hint}")
        pairs.append((int(item[0]), tuple(int(v) for v in item[1])))
    return pairs


def judge_choices(found, size: int, filters: int, reveal: bool) -> None:
    what = f"third_pair_choices({size}, {filters})"
    pairs = normalize_choices(found, what)
    kernels = [k for k, _ in pairs]
    if len(set(kernels)) != len(kernels):
        twice = sorted({k for k in kernels if kernels.count(k) > 1})
        raise CheckFailed(f"{what}: kernel size {twice[0]} is listed more than once; list each kernel "
                          "size that fits once.")
    for k, shape in pairs:  # each claimed choice, against the arithmetic
        conv = size - k + 1
        if k < 1:
            raise CheckFailed(f"{what}: a kernel size of {k} is not a kernel; sizes start at 1.")
        expected = keras_pair(size, k, filters)
        if expected is None:
            if conv < 1:
                why = (f"a {k}x{k} kernel is larger than the {size}x{size} map: the convolution has no "
                       "position to fit (valid padding)")
            else:
                why = (f"a {k}x{k} convolution leaves {conv}x{conv}, and 2x2 pooling of a {conv}x{conv} map "
                       f"leaves {conv // 2}x{conv // 2}: nothing")
            raise CheckFailed(f"{what}: you list kernel size {k}, but {why}. Likely mistake: the pair fits "
                              "only when the pooling output is at least 1x1; check it after the pooling, not "
                              "after the convolution.")
        side = expected[0]
        if shape != expected:
            shown = f"expected {expected}" if reveal else "not right"
            if shape == (conv, conv, filters):
                cause = ("that is the convolution's output; give the shape after the 2x2 pooling, which "
                         "halves each side (rounding down)")
            elif shape[:2] == (-(-conv // 2),) * 2 and shape[2] == filters:
                cause = "MaxPooling2D rounds down (an incomplete 2x2 block at the border is dropped)"
            elif shape[:2] == (side, side):
                cause = (f"the channels after the pair are the {filters} filters of the new convolution, "
                         "whatever the input had")
            else:
                cause = (f"a {k}x{k} convolution (valid padding) on {size}x{size} leaves size - k + 1 on each "
                         "side; 2x2 pooling halves it, rounding down; the channels are the filters")
            raise CheckFailed(f"{what}: for kernel size {k} the output shape {shape} is {shown}. "
                              f"Likely mistake: {cause}.")
    right = [k for k, _ in right_choices(size, filters)]
    missing = [k for k in right if k not in kernels]
    if missing:
        causes = []
        if 1 in missing:
            causes.append("a 1x1 convolution fits too (it mixes the channels without shrinking the map)")
        if any(k % 2 == 0 for k in missing):
            causes.append("even kernel sizes fit too (2x2, 4x4, ...), not only odd ones")
        if any(k > 1 and k % 2 == 1 for k in missing):
            causes.append("try every kernel size from 1 up: the pair fits as long as the pooling leaves "
                          "at least 1x1")
        cause = "; ".join(causes)
        raise CheckFailed(f"{what}: kernel sizes that fit are missing"
                          + (f" ({', '.join(map(str, missing))})" if reveal else "")
                          + f". Likely mistake: {cause}.")
    expect(kernels == sorted(kernels), f"{what}: the choices are right but not in increasing order of "
           "kernel size.")


@pytest.mark.points(1)
@pytest.mark.target("third_pair_choices")
def test_third_pair_choices_lesson(submission):
    """third_pair_choices: the 4x4 maps after 28 -> 24 -> 12 -> 8 -> 4, with 64 filters"""
    judge_choices(submission.call("third_pair_choices", 4, 64), 4, 64, reveal=False)


# --------------------------------------------------------------------------- build_lenet

INPUT_SHAPE = (28, 28, 1)
DEFAULTS = {"conv_filters": (6, 16), "dense_units": (120, 84)}


def lenet_spec(conv_filters=(6, 16), dense_units=(120, 84)) -> list:
    """The specification of build_lenet(conv_filters, dense_units), layer by layer (arithmetic:
    tests/exercises/test_05_architectures.py checks it against Keras)."""
    f1, f2 = conv_filters
    u1, u2 = dense_units
    return [
        spec("Conv2D", (24, 24, f1), f1 * (5 * 5 * 1 + 1), "relu", filters=f1, kernel_size=(5, 5),
             padding="valid"),
        spec("MaxPooling2D", (12, 12, f1), 0, pool_size=(2, 2)),
        spec("Conv2D", (8, 8, f2), f2 * (5 * 5 * f1 + 1), "relu", filters=f2, kernel_size=(5, 5),
             padding="valid"),
        spec("MaxPooling2D", (4, 4, f2), 0, pool_size=(2, 2)),
        spec("Flatten", (16 * f2,), 0),
        spec("Dense", (u1,), u1 * (16 * f2 + 1), "relu", units=u1),
        spec("Dense", (u2,), u2 * (u1 + 1), "relu", units=u2),
        spec("Dense", (10,), 10 * (u2 + 1), "softmax", units=10),
    ]


EXPECTED_LAYERS = lenet_spec()
# other sizes the hidden check builds (keyword arguments, as lists: data sent to the worker)
OTHER_SIZES = [{"conv_filters": [8, 32], "dense_units": [64, 32]},
               {"conv_filters": [4, 10], "dense_units": [100, 50]}]
FUNCTION_HINT = (
    " Likely cause: a function given where Keras expects a name, such as "
    "activation=tf.nn.softmax or loss=tf.keras.losses.sparse_categorical_crossentropy; write "
    "the names instead: activation='softmax', loss='sparse_categorical_crossentropy'."
)


@pytest.fixture(scope="module")
def lenet_observed(submission):
    """build_lenet() observed once per submission: the ModelObservation, or the failed check."""
    try:
        return submission.model("build_lenet")
    except CheckFailed as exc:
        return exc


def observed(observation):
    if isinstance(observation, CheckFailed):
        raise CheckFailed(str(observation))
    return observation


def keras_model(observation, what: str = "build_lenet()"):
    try:
        return observation.model  # rebuilt on this side from config (safe mode), compiled
    except CheckFailed as exc:
        raise CheckFailed(f"{what}: {exc}" + FUNCTION_HINT * ("function" in str(exc))) from None


def _items(problems: list) -> str:
    return "\n".join(f"- {p}" for p in problems)


@pytest.mark.points(3)
@pytest.mark.target("build_lenet")
def test_build_lenet_layers(lenet_observed):
    """build_lenet: layers, output shapes and parameter counts"""
    model = keras_model(observed(lenet_observed))
    report = compare_layers(model, EXPECTED_LAYERS, input_shape=INPUT_SHAPE, check_activations=False)
    if not report.ok:
        raise CheckFailed(f"build_lenet() differs from the specification:\n{_items(report.problems)}\n\n"
                          + report.table())


def activation_problems(model) -> list:
    """relu in every Conv2D and hidden Dense layer, softmax in the last one.

    When the layers are those of the specification, each is compared with its own; when one
    is missing or extra (the layers check says which), the rule is applied to the layers the
    model has, so a missing Dense(84) is not also blamed as a softmax where relu belongs.
    """
    rows = describe_layers(model)
    if [r.kind for r in rows] == [s.kind for s in EXPECTED_LAYERS]:
        return compare_layers(rows, EXPECTED_LAYERS, check_structure=False).problems
    last = max((i for i, r in enumerate(rows) if r.kind == "Dense"), default=len(rows) - 1)
    rule = [spec(r.kind, activation=("softmax" if i == last else "relu")
                 if r.kind in ("Conv2D", "Dense") else None) for i, r in enumerate(rows)]
    return compare_layers(rows, rule, check_structure=False).problems


@pytest.mark.points(1)
@pytest.mark.target("build_lenet")
def test_build_lenet_activations(lenet_observed):
    """build_lenet: relu inside, softmax at the output"""
    problems = activation_problems(keras_model(observed(lenet_observed)))
    if problems:
        raise CheckFailed(f"build_lenet(): the activations differ from the specification:\n"
                          f"{_items(problems)}")


@pytest.mark.points(1)
@pytest.mark.target("build_lenet")
def test_build_lenet_compile(lenet_observed):
    """build_lenet: compiled with adam, sparse categorical cross-entropy, accuracy"""
    observation = observed(lenet_observed)
    rows = describe_layers(keras_model(observation))
    problems = compile_problems(observation.compile_config, optimizer="adam",
                                loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                                output_activation=rows[-1].activation if rows else None)
    if problems:
        raise CheckFailed(f"build_lenet(): the compile settings differ from the specification:\n"
                          f"{_items(problems)}")


