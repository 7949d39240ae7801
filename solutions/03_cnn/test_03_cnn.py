"""Grading suite of 03_cnn: preparing Fashion-MNIST images and a small convolutional network.

``reshape_and_normalize`` is called on random images (public: a few; hidden: other counts,
and whether the caller's array is left alone). ``build_cnn`` is judged on the model it
returns, rebuilt on the trusted side from its config: layer kinds, output shapes and
parameter counts, activations, compile settings, each difference with its likely cause.
A hidden check trains a fresh copy of the submitted architecture (new weights, the
submission's compile settings) with the profile's budget on images normalized here, and
scores it on the Fashion-MNIST test set, which never reaches the student's code. The
training is the one ``cnn_budget.py`` (beside this file) does for ``bench/calibrate.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import CheckFailed, expect, expect_array
from grader.checks import compare_layers, compile_problems, describe_layers, format_rows, spec

INPUT_SHAPE = (28, 28, 1)
# The specification of build_cnn(), layer by layer: kind, output shape, parameters,
# activation, and the configuration values that define it.
EXPECTED_LAYERS = [
    spec("Conv2D", (26, 26, 64), 640, "relu", filters=64, kernel_size=(3, 3), padding="valid"),
    spec("MaxPooling2D", (13, 13, 64), 0, pool_size=(2, 2)),
    spec("Conv2D", (11, 11, 64), 36928, "relu", filters=64, kernel_size=(3, 3), padding="valid"),
    spec("MaxPooling2D", (5, 5, 64), 0, pool_size=(2, 2)),
    spec("Flatten", (1600,), 0),
    spec("Dense", (128,), 204928, "relu", units=128),
    spec("Dense", (10,), 1290, "softmax", units=10),
]
# Exercise-specific advice added to the generic messages of grader.keras_checks.
HINTS = {
    "input shape": "reshape_and_normalize gives the network images of shape (28, 28, 1).",
}


def random_images(rng: np.random.Generator, count: int) -> np.ndarray:
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    images.flat[0], images.flat[1] = 0, 255  # both ends of the pixel range occur
    return images


def expected_images(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / np.float32(255.0)).reshape(-1, 28, 28, 1)


def reshape_mistakes(images: np.ndarray) -> list:
    n = len(images)
    x = images.astype(np.float64)
    return [
        (x.reshape(n, 28, 28, 1), "the pixels were not scaled: divide by 255 to bring 0..255 "
         "into [0, 1]"),
        (x.reshape(n, 28, 28), "the images lack the channel axis that Conv2D needs, and were not "
         "scaled: images.reshape(-1, 28, 28, 1) / 255.0"),
        (x.reshape(n, 28, 28) / 255.0, "the pixels are scaled but the channel axis is missing: "
         "Conv2D needs (N, 28, 28, 1); use images.reshape(-1, 28, 28, 1) or "
         "images[..., np.newaxis]"),
        (x.reshape(n, 784) / 255.0, "the images were flattened; a convolution needs the 2-D "
         "layout plus a channel axis: (N, 28, 28, 1)"),
        (x.reshape(n, 1, 28, 28) / 255.0, "the channel axis is first (N, 1, 28, 28); Keras "
         "expects it last: (N, 28, 28, 1)"),
        (x.reshape(n, 28, 28, 1) / 256.0, "divide by 255, the largest pixel value (dividing by "
         "256 never reaches 1)"),
        (x.reshape(n, 28, 28, 1) / x.max(), "divide by 255, the largest possible pixel value, "
         "not by the largest value of this batch"),
        (x.reshape(n, 28, 28, 1) / 127.5 - 1.0, "the pixels were scaled to [-1, 1]; the "
         "specification asks for [0, 1]: divide by 255"),
    ]


# --------------------------------------------------------------------------- reshape_and_normalize


def check_reshaped(found, images: np.ndarray, what: str) -> None:
    n = len(images)
    if isinstance(found, np.ndarray) and found.ndim == 4 and found.shape[-1] == 1 and found.shape[0] != n:
        raise CheckFailed(
            f"{what}: expected {n} images, found {found.shape[0]}. Likely mistake: the number "
            "of images is written into the code (e.g. reshape(60000, 28, 28, 1)); use -1 or "
            "images.shape[0] so any number of images works."
        )
    expect_array(found, expected_images(images), what, rtol=1e-6, atol=1e-6,
                 mistakes=reshape_mistakes(images))
    expect(found.dtype == np.float32,
           f"{what}: the values are right but the dtype is {found.dtype}; the specification "
           "asks for float32 (dividing uint8 by 255.0 gives float64: add .astype('float32') "
           "or convert first: images.astype('float32') / 255.0).")


@pytest.mark.points(1)
@pytest.mark.target("reshape_and_normalize")
def test_reshape_and_normalize_shape(submission, rng):
    """reshape_and_normalize: 5 images become (5, 28, 28, 1)"""
    images = random_images(rng, 5)
    found = submission.call("reshape_and_normalize", images)
    what = "reshape_and_normalize(5 images of 28x28)"
    if not isinstance(found, np.ndarray):
        expect_array(found, expected_images(images), what)  # raises: not an array
    if found.shape != (5, 28, 28, 1):
        by_shape = {
            (5, 28, 28): "the channel axis that Conv2D needs is missing: use "
            "images.reshape(-1, 28, 28, 1) or images[..., np.newaxis]",
            (5, 784): "the images were flattened; a convolution needs the 2-D layout plus a "
            "channel axis: (N, 28, 28, 1)",
            (5, 1, 28, 28): "the channel axis is first; Keras expects it last: (N, 28, 28, 1)",
        }
        hint = by_shape.get(found.shape, "reshape to (number of images, 28, 28, 1)")
        raise CheckFailed(f"{what}: expected shape (5, 28, 28, 1), found {found.shape}. "
                          f"Likely mistake: {hint}.")


@pytest.mark.points(1)
@pytest.mark.target("reshape_and_normalize")
def test_reshape_and_normalize_values(submission, rng):
    """reshape_and_normalize: float32 values in [0, 1], pixel / 255"""
    images = random_images(rng, 5)
    found = submission.call("reshape_and_normalize", images)
    check_reshaped(found, images, "reshape_and_normalize(5 images of 28x28)")


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("reshape_and_normalize")
def test_reshape_and_normalize_any_count(submission, rng):
    """reshape_and_normalize: 1, 7 and 60 images, and dark images (no pixel reaches 255)"""
    for count in (1, 7, 60):
        images = random_images(rng, count)
        found = submission.call("reshape_and_normalize", images)
        check_reshaped(found, images, f"reshape_and_normalize({count} images of 28x28)")
    # the scale is fixed (255), whatever the images: dividing by images.max() is right only
    # when some pixel is 255, as in every batch above
    dark = rng.integers(0, 200, size=(6, 28, 28), dtype=np.uint8)
    found = submission.call("reshape_and_normalize", dark)
    check_reshaped(found, dark, f"reshape_and_normalize(6 dark images of 28x28, brightest pixel {int(dark.max())})")


def probe_leaves_input(ns, images):
    """In the worker: call reshape_and_normalize and see what happened to its argument."""
    import numpy as np

    original = np.array(images, copy=True)
    result = ns["reshape_and_normalize"](images)
    return {
        "result_type": type(result).__name__,
        "is_array": isinstance(result, np.ndarray),
        "input_shape": list(images.shape),
        "input_dtype": str(images.dtype),
        "input_unchanged": bool(images.shape == original.shape and images.dtype == original.dtype
                                and np.array_equal(images, original)),
        "shares_memory": bool(isinstance(result, np.ndarray) and np.shares_memory(result, images)),
    }


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("reshape_and_normalize")
def test_reshape_and_normalize_new_array(submission, rng):
    """reshape_and_normalize: returns a new array and leaves its argument alone"""
    images = random_images(rng, 4)
    seen = submission.probe(probe_leaves_input, images)
    expect(isinstance(seen, dict), "reshape_and_normalize could not be observed.")
    expect(seen["is_array"], f"reshape_and_normalize returned a {seen['result_type']}, not a "
           "numpy array.")
    expect(seen["input_unchanged"],
           f"reshape_and_normalize changed the array it was given (it is now "
           f"{tuple(seen['input_shape'])}, {seen['input_dtype']}): the caller's images must stay "
           "as they were. Likely mistake: an in-place change such as images.shape = ..., "
           "images.resize(...) or images /= 255; build a new array instead "
           "(images.reshape(...) / 255.0).")
    expect(not seen["shares_memory"],
           "reshape_and_normalize returned an array that shares memory with its argument, so "
           "changing one changes the other: return a new array (dividing by 255.0 makes one).")


# --------------------------------------------------------------------------- build_cnn


@pytest.fixture(scope="module")
def cnn_observed(submission):
    """build_cnn() observed once per submission: the ModelObservation, or the failed check."""
    try:
        return submission.model("build_cnn")
    except CheckFailed as exc:
        return exc


def built_cnn(observed):
    if isinstance(observed, CheckFailed):
        raise CheckFailed(str(observed))
    return observed


FUNCTION_HINT = (
    " Likely cause: a function given where Keras expects a name, such as "
    "activation=tf.nn.softmax or loss=tf.keras.losses.sparse_categorical_crossentropy; write "
    "the names instead: activation='softmax', loss='sparse_categorical_crossentropy'."
)


def keras_model(observation):
    try:
        return observation.model  # rebuilt on this side from config (safe mode), compiled
    except CheckFailed as exc:
        raise CheckFailed(f"build_cnn(): {exc}" + FUNCTION_HINT * ("function" in str(exc))) from None


def _with_hints(problems: list[str]) -> list[str]:
    out = []
    for problem in problems:
        extra = [advice for needle, advice in HINTS.items() if needle in problem]
        out.append(problem + ("" if not extra else " " + " ".join(extra)))
    return out


def _table_feedback(feedback, report) -> None:
    """Your model.summary() beside the expected one; rows that differ are highlighted."""
    rows, highlight = [], []
    for i in range(max(len(report.rows), len(report.expected))):
        mine = report.rows[i] if i < len(report.rows) else None
        spec_ = report.expected[i] if i < len(report.expected) else None
        cells = [str(i),
                 mine.describe() if mine else "(none)",
                 str(mine.output_shape) if mine else "",
                 "?" if mine is None or mine.params is None else f"{mine.params:,}",
                 spec_.describe() if spec_ else "(none)",
                 "" if spec_ is None or spec_.output_shape is None else str(spec_.output_shape),
                 "" if spec_ is None or spec_.params is None else f"{spec_.params:,}"]
        same = (mine is not None and spec_ is not None and cells[1] == cells[4]
                and (spec_.output_shape is None or tuple(mine.output_shape or ()) == tuple(spec_.output_shape))
                and (spec_.params is None or mine.params == spec_.params))
        rows.append(cells)
        if not same:
            highlight.append(i)
    totals = []
    if all(r.params is not None for r in report.rows):
        totals.append(f"your model: {sum(r.params for r in report.rows):,} parameters")
    if all(s.params is not None for s in report.expected):
        totals.append(f"expected: {sum(s.params for s in report.expected):,} parameters")
    feedback.table("your model beside the expected one (differences highlighted)",
                   ["#", "your layer", "output", "params", "expected layer", "output", "params"], rows, highlight,
                   groups=[("", 1), ("your model", 3), ("expected", 3)], note="; ".join(totals))


def _short_message(report) -> str:
    """The problems as a list; the layer-by-layer table is the feedback item under it."""
    items = "\n".join(f"- {p}" for p in report.problems)
    return (f"build_cnn() differs from the specification:\n{items}\n\n"
            "Both models layer by layer: the table under this message in feedback.html (the "
            "layers that differ highlighted); in your notebook, model.summary() shows yours.")


@pytest.mark.points(3)
@pytest.mark.target("build_cnn")
def test_build_cnn_layers(cnn_observed, feedback):
    """build_cnn: layers, output shapes and parameter counts"""
    model = keras_model(built_cnn(cnn_observed))
    report = compare_layers(model, EXPECTED_LAYERS, input_shape=INPUT_SHAPE,
                            check_activations=False)
    _table_feedback(feedback, report)
    if not report.ok:
        report.problems = _with_hints(report.problems)
        raise CheckFailed(_short_message(report))


@pytest.mark.points(1)
@pytest.mark.target("build_cnn")
def test_build_cnn_activations(cnn_observed):
    """build_cnn: relu inside, softmax at the output"""
    model = keras_model(built_cnn(cnn_observed))
    report = compare_layers(model, EXPECTED_LAYERS, check_structure=False)
    if not report.ok:
        items = "\n".join(f"- {p}" for p in report.problems)
        raise CheckFailed(f"build_cnn(): the activations differ from the specification:\n{items}")


@pytest.mark.points(1)
@pytest.mark.target("build_cnn")
def test_build_cnn_compile(cnn_observed):
    """build_cnn: compiled with adam, sparse categorical cross-entropy, accuracy"""
    observation = built_cnn(cnn_observed)
    rows = describe_layers(keras_model(observation))
    output_activation = rows[-1].activation if rows else None
    problems = compile_problems(observation.compile_config, optimizer="adam",
                                loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                                output_activation=output_activation)
    if problems:
        items = "\n".join(f"- {p}" for p in problems)
        raise CheckFailed(f"build_cnn(): the compile settings differ from the specification:\n{items}")


@pytest.mark.hidden
@pytest.mark.points(3)
@pytest.mark.target("build_cnn")
def test_build_cnn_trains(cnn_observed, profile, course_seed, feedback, trusted_cache):
    """build_cnn: the model learns Fashion-MNIST (trained by the grader)"""
    import cnn_budget  # beside this suite; imported here so the public copy does not need it
    from grader.checks import cached_training, data_digest

    observation = built_cnn(cnn_observed)
    model = keras_model(observation)  # also checks the compile config is plain Keras
    samples, epochs = int(profile["train_samples"]), int(profile["epochs"])
    threshold = float(profile["test_accuracy"])
    batch_size = int(profile["batch_size"])
    data = cnn_budget.fashion_data(samples, course_seed)

    def train():
        return cnn_budget.train_and_evaluate(
            model, observation.compile_config, samples=samples, epochs=epochs,  # cleaned by fresh_copy
            batch_size=batch_size, seed=course_seed, data=data)

    try:
        # once per architecture + compile settings + budget: the key is the model as rebuilt
        # here, the value this side's own training (grader.engine.cache); a failure is not cached
        outcome = cached_training(trusted_cache, "03_cnn.train_and_evaluate", model, train, code=[cnn_budget],
                                  decode=lambda v: cnn_budget.Outcome(**v), samples=samples, epochs=epochs,
                                  batch_size=batch_size, seed=course_seed, data=data_digest(*data))
    except cnn_budget.TrainingFailed as exc:
        causes = compile_problems(observation.compile_config)
        extra = "" if not causes else " Likely cause: " + causes[0] + "."
        raise CheckFailed(f"build_cnn(): the grader trains your model itself, and {exc}.{extra}") from None
    if outcome.history.get("accuracy"):
        series = {"your model (trained by the grader)": outcome.history["accuracy"]}
        if profile.get("reference_accuracy"):
            series["the reference model"] = list(profile["reference_accuracy"])
        feedback.curves("training accuracy per epoch", series, ylabel="accuracy")
    if outcome.accuracy < threshold:
        rows = describe_layers(model)
        causes = compile_problems(observation.compile_config, optimizer="adam",
                                  loss="sparse_categorical_crossentropy",
                                  output_activation=rows[-1].activation if rows else None)
        causes += compare_layers(rows, EXPECTED_LAYERS, check_structure=False).problems
        extra = "" if not causes else " Likely cause: " + causes[0]
        raise CheckFailed(
            f"build_cnn(): trained by the grader ({samples:,} Fashion-MNIST training images, "
            f"{epochs} epochs, fresh weights, your compile settings), your model classifies "
            f"{outcome.accuracy:.1%} of the 10,000 test images correctly; at least "
            f"{threshold:.0%} is expected.{extra}"
            + ("" if extra.endswith(".") or not extra else ".")
            + "\n\nyour model:\n" + format_rows(rows)
        )
