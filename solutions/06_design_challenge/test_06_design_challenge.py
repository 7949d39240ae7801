"""Grading suite of 06_design_challenge: a Fashion-MNIST classifier of the student's design.

``build_model()`` may return any model of Keras' own layers (the allow-list of
``grader.engine.model_policy``) within the assignment's budget (``[assignments.06_design_challenge.limits]``
``max_params``/``max_flops``, enforced when the model is rebuilt on this side, before
Keras allocates anything). The grader then trains a fresh copy itself, on its own data,
seed and budget (the profile: ``train_samples``, ``epochs``, ``batch_size``,
``max_train_seconds``), and measures it on the 10,000 Fashion-MNIST test images, which never
reach the student's code (``design_budget.py`` beside this suite, also run by
``hidden_calibrate.py``; thresholds ``accuracy_a`` and ``accuracy_b``: docs/CALIBRATION.md).

A model that keeps the rules and trains gets a leaderboard entry (``feedback.leaderboard``):
test accuracy, parameters, training seconds. A model over the budget gets the numbers in its
message, 0 for the training checks, and no entry.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import CheckFailed, compile_problems, describe_layers, format_rows, summarize_compile

NAME = "build_model"
INPUT_SHAPE = (28, 28, 1)
CLASSES = 10

OVER_BUDGET_HINT = (
    " Make the model smaller: pool (MaxPooling2D) early so that later layers see smaller "
    "images, use fewer filters or units, or GlobalAveragePooling2D() instead of Flatten() "
    "before the last Dense layer; grader.check(\"build_model\") prints both numbers."
)
REFUSED_HINT = (
    " Use Keras' own layers only (keras.layers.Dense, Conv2D, MaxPooling2D, Flatten, Dropout, "
    "BatchNormalization, ...): a Lambda layer or a layer class of your own runs code the grader "
    "does not run."
)


# --------------------------------------------------------------------------- the model, once


@pytest.fixture(scope="module")
def model_observed(submission):
    """build_model() observed once per submission: the ModelObservation, or the failed check."""
    try:
        return submission.model(NAME)
    except CheckFailed as exc:
        return exc


def rebuilt(observed):
    """The model rebuilt on this side (allow-list, budget, safe mode), or the failed check with
    the student's next step."""
    if isinstance(observed, CheckFailed):
        raise CheckFailed(f"{NAME}(): {observed}")
    try:
        return observed.model
    except CheckFailed as exc:
        text = str(exc)
        if "this exercise allows at most" in text:
            text += "." + OVER_BUDGET_HINT
        elif "not allowed" in text or "refuse" in text or "Lambda" in text:
            text += REFUSED_HINT
        raise CheckFailed(f"{NAME}(): {text}") from None


def io_problems(model) -> list[str]:
    """What breaks the input/output rules: (28, 28, 1) images in, 10 probabilities out."""
    problems = []
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        return [f"the model has {len(inputs)} inputs; it needs one, of shape {INPUT_SHAPE}"]
    shape = tuple(inputs[0].shape)[1:]
    if shape != INPUT_SHAPE:
        return [f"the model's input has shape {shape}, expected {INPUT_SHAPE}: start with "
                f"keras.Input(shape={INPUT_SHAPE}) (the grader feeds images with a channel axis; "
                "Flatten() turns them into vectors inside the model if you need them)"]
    outputs = getattr(model, "outputs", None) or []
    out_shape = tuple(outputs[0].shape)[1:] if len(outputs) == 1 else None
    if out_shape != (CLASSES,):
        return [f"the model's output has shape {out_shape if out_shape is not None else f'{len(outputs)} outputs'}, "
                f"expected ({CLASSES},): one probability per class, e.g. a last Dense({CLASSES}, "
                "activation='softmax')"]
    probe = np.random.default_rng(0).random((16, *INPUT_SHAPE), dtype=np.float32)
    try:
        found = np.asarray(model.predict(probe, verbose=0), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - a model that cannot predict breaks the rules
        return [f"the model cannot predict on 16 images of shape {INPUT_SHAPE}: {type(exc).__name__}: {exc}"]
    sums = found.sum(axis=1)
    if not np.all(np.isfinite(found)):
        problems.append("the untrained model already outputs NaN or infinite values")
    elif found.min() < -1e-6 or not np.allclose(sums, 1.0, atol=1e-3):
        rows = describe_layers(model)
        last = rows[-1].activation if rows else None
        problems.append(
            f"the outputs are not probabilities (on 16 images they range from {found.min():.3g} to "
            f"{found.max():.3g} and each image's sum from {sums.min():.3g} to {sums.max():.3g}; "
            "probabilities are at least 0 and sum to 1). Likely mistake: the last layer has "
            f"activation {last!r}; end with Dense({CLASSES}, activation='softmax') or a Softmax() layer")
    return problems


@pytest.fixture(scope="module")
def trained(model_observed, profile, course_seed, trusted_cache):
    """The grader's own training of a fresh copy, once per submission: the Outcome, or the
    failed check (a model that breaks the rules is not trained)."""
    import design_budget  # beside this suite; imported here so the public copy does not need it

    from grader.checks import cached_training, data_digest

    try:
        observation = observed_or_fail(model_observed)
        model = rebuilt(observation)
        problems = io_problems(model)
        if problems:
            raise CheckFailed(f"{NAME}(): the grader trains only a model that keeps the rules, and "
                              + problems[0] + ".")
    except CheckFailed as exc:
        return exc
    samples, epochs = int(profile["train_samples"]), int(profile["epochs"])
    batch_size, max_seconds = int(profile["batch_size"]), float(profile["max_train_seconds"])
    compile_config = observation.compile_config if observation.compiled else None
    if compile_config is None:  # the rules: the grader compiles an uncompiled model (also its cache key)
        model.compile(**design_budget.DEFAULT_COMPILE)
    data = design_budget.fashion_data(samples, course_seed)

    def train():
        return design_budget.train_and_evaluate(
            model, compile_config, epochs=epochs, batch_size=batch_size, seed=course_seed,
            data=data, max_seconds=max_seconds)

    try:
        # once per architecture + compile settings + budget (grader.engine.cache); a failure,
        # going over the training-time budget included, is not cached
        outcome = cached_training(trusted_cache, "06_design_challenge.train_and_evaluate", model, train,
                                  code=[design_budget], decode=lambda v: design_budget.Outcome(**v),
                                  samples=samples, epochs=epochs, batch_size=batch_size,
                                  max_seconds=max_seconds, seed=course_seed, data=data_digest(*data))
    except design_budget.TrainingFailed as exc:
        causes = compile_problems(observation.compile_config) if compile_config else []
        if compile_config and not causes:
            # the grader's labels are integers 0-9: categorical_crossentropy (one-hot labels)
            # always fails on them, so that loss, when it is the student's, is the cause
            causes = [c for c in compile_problems(compile_config, loss="sparse_categorical_crossentropy")
                      if "one-hot" in c]
        extra = "" if not causes else " Likely cause: " + causes[0].rstrip(".") + "."
        return CheckFailed(f"{NAME}(): the grader trains your model itself, and {exc}.{extra}")
    return {"outcome": outcome, "model": model, "compile_config": compile_config,
            "budget": (samples, epochs, batch_size)}


def observed_or_fail(observed):
    if isinstance(observed, CheckFailed):
        raise CheckFailed(f"{NAME}(): {observed}")
    return observed


def training(trained) -> dict:
    if isinstance(trained, CheckFailed):
        raise CheckFailed(str(trained))
    return trained


LEARNED = 0.2  # twice chance (10 classes): below it, training did not get anywhere


def not_trained_message(outcome) -> str | None:
    """Why the grader's training of the model went nowhere (NaN, or no better than guessing); None if it learned."""
    losses = ", ".join(f"{v:.4g}" for v in outcome.history.get("loss", []))
    if not outcome.finite:
        return (f"{NAME}(): trained by the grader, the loss became NaN (not a number; losses per epoch: "
                f"{losses}): training diverged, so the model predicts nothing useful. Likely cause: a "
                "learning rate far too large for the optimizer (keras.optimizers.Adam() with its "
                "default learning_rate=0.001 is a safe start).")
    if outcome.accuracy < LEARNED:
        return (f"{NAME}(): trained by the grader, the model did not learn: it classifies "
                f"{outcome.accuracy:.1%} of the test images correctly, about what guessing one class "
                f"gets (10%; losses per epoch: {losses}). Likely cause: a learning rate far too large "
                "for the optimizer, so training diverged and every unit went dead (keras.optimizers.Adam() "
                "with its default learning_rate=0.001 is a safe start).")
    return None


# --------------------------------------------------------------------------- public checks


@pytest.mark.points(1)
@pytest.mark.target(NAME)
def test_build_model_rules(model_observed, feedback):
    """build_model: Keras' own layers, within the parameter and operation budget"""
    from grader.engine.model_policy import clean_model_config, estimate_cost

    model = rebuilt(model_observed)  # raises with the numbers when over the budget
    cost = estimate_cost(clean_model_config(model_observed.config))
    rows = [["parameters", f"{cost.params:,}", f"{model_observed.max_params:,}" if model_observed.max_params else "-"],
            ["operations per image", f"{cost.flops_per_example:,}",
             f"{model_observed.max_flops:,}" if model_observed.max_flops else "-"]]
    feedback.table("your model's cost, as the grader counts it", ["", "your model", "at most"], rows)
    assert model is not None


@pytest.mark.points(1)
@pytest.mark.target(NAME)
def test_build_model_input_output(model_observed):
    """build_model: (28, 28, 1) images in, 10 probabilities out"""
    model = rebuilt(model_observed)
    problems = io_problems(model)
    if problems:
        raise CheckFailed(f"{NAME}(): " + problems[0] + ".\n\nyour model:\n" + format_rows(describe_layers(model)))


# --------------------------------------------------------------------------- hidden: trained by the grader


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target(NAME)
def test_build_model_trains(trained, feedback):
    """build_model: trains without NaN and learns (trained by the grader); leaderboard entry"""
    result = training(trained)
    outcome = result["outcome"]
    if outcome.history.get("loss"):
        feedback.curves("training loss per epoch (trained by the grader)",
                        {"your model": outcome.history["loss"]}, ylabel="loss")
    message = not_trained_message(outcome)
    if message:
        raise CheckFailed(message)
    # the entry: only a model within the budget (rebuilt), keeping the rules, trained within time
    feedback.leaderboard("Test accuracy", round(float(outcome.accuracy), 4), "desc")
    feedback.leaderboard("Parameters", int(outcome.params), "asc")
    feedback.leaderboard("Training seconds", round(float(outcome.seconds), 1), "asc")


def compile_settings(compile_config: dict | None) -> str:
    """How the grader compiled the model for training, as facts (no guess at a cause)."""
    if compile_config is None:
        return "adam and sparse_categorical_crossentropy (your model was not compiled)"
    summary = summarize_compile(compile_config)
    parts = [f"optimizer {summary.optimizer or '?'}"]
    if summary.learning_rate is not None:
        parts[0] += f" with learning rate {summary.learning_rate:g}"
    if summary.loss:
        parts.append(f"loss {summary.loss}" + (" (from logits)" if summary.from_logits else ""))
    return "your compile settings: " + ", ".join(parts)


def rescaling_note(rows: list) -> str:
    """A fact worth knowing when the accuracy is low: a Rescaling layer shrinks pixels that the
    grader already gives in [0, 1] (the rules' input), e.g. Rescaling(1/255) to [0, 0.004]."""
    for row in rows:
        scale = row.config.get("scale") if row.kind == "Rescaling" else None
        if isinstance(scale, (int, float)) and 0 < abs(scale) < 0.1:
            return (f"\n\nNote: your model has a {row.describe()} layer, and the images the grader gives "
                    "it are already scaled to [0, 1] (the rules' input), so that layer shrinks them to "
                    f"[0, {abs(scale):.2g}].")
    return ""


def _accuracy_check(trained, profile, key: str, what: str) -> None:
    result = training(trained)
    outcome = result["outcome"]
    threshold = float(profile[key])
    samples, epochs, batch_size = result["budget"]
    message = not_trained_message(outcome)
    if message:
        raise CheckFailed(message)
    if outcome.accuracy < threshold:
        settings = compile_settings(result["compile_config"])
        rows = describe_layers(result["model"])  # the table and the note read the same rows
        raise CheckFailed(
            f"{NAME}(): trained by the grader ({samples:,} Fashion-MNIST training images, {epochs} "
            f"epochs, batch size {batch_size}, fresh weights, {settings}), your model classifies "
            f"{outcome.accuracy:.1%} of the 10,000 test images correctly; at least {threshold:.0%} "
            f"is expected, {what}.\n\nyour model:\n" + format_rows(rows) + rescaling_note(rows))


@pytest.mark.hidden
@pytest.mark.points(2)
@pytest.mark.target(NAME)
def test_build_model_accuracy_baseline(trained, profile):
    """build_model: test accuracy at least what a plain dense network reaches"""
    _accuracy_check(trained, profile, "accuracy_a",
                    "what a plain dense network (Flatten, Dense(128, relu), Dense(10, softmax)) reaches "
                    "on this budget")


@pytest.mark.hidden
@pytest.mark.points(2)
@pytest.mark.target(NAME)
def test_build_model_accuracy_cnn(trained, profile):
    """build_model: test accuracy at least what a small convolutional network reaches"""
    _accuracy_check(trained, profile, "accuracy_b",
                    "what a small convolutional network (convolution and pooling before the Dense "
                    "layers) reaches on this budget")
