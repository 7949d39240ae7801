"""Grading suite of 02_callback: a Keras callback that stops training at a target accuracy.

The callback is observed without training: a probe (run in the student's worker) creates
the student's ``AccuracyThresholdCallback``, attaches a tiny real Keras model, calls
``on_epoch_end`` with logs chosen here (just below, at and above several thresholds; no
logs; only the Keras 2 key ``acc``) and reports whether ``model.stop_training`` was set and
what was printed. ``train_mnist`` is run on MNIST training images (the profile says how
many); its History is checked (stopped early, last accuracy, epoch limit) and, because a
History is easy to fake, the model it holds is evaluated here on MNIST test images the worker
never saw and must come close to its last accuracy; every train_mnist check counts only a
History its model backs. ``callback_budget.py`` (beside this file) holds the data and the evaluation,
shared with ``bench/calibrate.py``.
"""

from __future__ import annotations

import re

import pytest

from grader.checks import CheckFailed, expect

CLASS = "AccuracyThresholdCallback"
KERAS3_METRICS = (
    "In Keras 3 the third positional argument of compile() is loss_weights, so Keras 2 code "
    "like model.compile('adam', loss, ['accuracy']) fails when fit() starts: pass "
    "metrics=['accuracy'] by keyword."
)

FUNCTION_HINT = (
    " Likely cause: a TensorFlow function given as an activation or loss (such as "
    "activation=tf.nn.softmax), which Keras 3 cannot save and load back; write the Keras name "
    "instead: activation='softmax', loss='sparse_categorical_crossentropy'."
)

# --------------------------------------------------------------------------- probes (worker)


def probe_class(ns, name):
    """In the worker: what kind of thing the submission's callback class is."""
    import inspect

    import keras

    cls = ns.get(name)
    info = {"is_class": inspect.isclass(cls), "is_callback": False, "hooks": [],
            "init_error": None}
    if not info["is_class"]:
        info["type"] = type(cls).__name__
        return info
    info["is_callback"] = issubclass(cls, keras.callbacks.Callback)
    own = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith(("keras", "tensorflow", "builtins")):
            break
        own.update(k for k in vars(klass) if k.startswith("on_"))
    info["hooks"] = sorted(own)
    try:
        cls()
        cls(0.5)
    except Exception as exc:  # noqa: BLE001 - reported to the trusted side as text
        info["init_error"] = f"{type(exc).__name__}: {exc}"
    return info


def probe_epoch_end(ns, name, threshold, cases):
    """In the worker: for each logs dict, a fresh callback on a fresh tiny model gets
    ``on_epoch_end(0, logs)``; report whether it stopped training and what it printed."""
    import contextlib
    import io
    import traceback

    import keras

    cls = ns[name]
    seen = []
    for logs in cases:
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
        model.stop_training = False
        out = io.StringIO()
        error = None
        callback = None
        stage = "creating it"
        try:
            with contextlib.redirect_stdout(out):
                callback = cls() if threshold is None else cls(threshold)
                stage = "set_model(model)"
                callback.set_model(model)
                stage = "on_epoch_end"
                callback.on_epoch_end(0, None if logs is None else dict(logs))
        except Exception as exc:  # noqa: BLE001 - reported as text
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != "<probe>"]
            where = ""
            if frames:
                code = (frames[-1].line or "").strip()
                where = f" (line {frames[-1].lineno}" + (f": {code})" if code else ")")
            error = f"{type(exc).__name__}: {exc}{where}"
            if stage != "on_epoch_end":
                error = f"{error}, while {stage}"
        own_flag = callback is not None and vars(callback).get("stop_training") is True
        seen.append({"stop": model.stop_training is True, "stdout": out.getvalue()[:2000],
                     "error": error, "own_flag": bool(own_flag)})
    return seen


# --------------------------------------------------------------------------- helpers


def observe(submission, threshold, cases):
    found = submission.probe(probe_epoch_end, CLASS, threshold, cases)
    expect(isinstance(found, list) and len(found) == len(cases),
           f"{CLASS} could not be observed.")
    return found


def hooks_hint(submission) -> str:
    info = submission.probe(probe_class, CLASS)
    hooks = set(info.get("hooks") or [])
    if "on_epoch_end" not in hooks:
        others = ", ".join(sorted(hooks)) or "no on_... method"
        return (f" Your class defines {others}: the check belongs in on_epoch_end(self, epoch, "
                "logs=None), which Keras calls after each epoch with that epoch's logs.")
    return ""


def describe(threshold, logs) -> str:
    made = f"{CLASS}()" if threshold is None else f"{CLASS}({threshold})"
    return f"{made}.on_epoch_end(0, logs={logs!r})"


def percent(threshold: float) -> str:
    return f"{threshold * 100:g}%"


def check_stops(submission, threshold, effective):
    """Just below, at and above ``effective`` (the threshold in force)."""
    cases = [{"loss": 0.05, "accuracy": round(value, 6)} for value in
             (effective - 0.001, effective, min(effective + 0.005, 1.0))]
    found = observe(submission, threshold, cases)
    for logs, seen in zip(cases, found, strict=True):
        what = describe(threshold, logs)
        if seen["error"]:
            raise CheckFailed(f"{what} raised {seen['error']}.")
        should = logs["accuracy"] >= effective
        if should and not seen["stop"]:
            if seen["own_flag"]:
                raise CheckFailed(
                    f"{what} did not stop training. Likely mistake: you set "
                    "self.stop_training, an attribute of the callback that Keras never reads; "
                    "set self.model.stop_training = True.")
            if logs["accuracy"] == effective and found[2]["stop"]:
                raise CheckFailed(
                    f"{what} did not stop training although the accuracy equals the threshold. "
                    "Likely mistake: '>' instead of '>=': reaching the threshold counts.")
            hint = hooks_hint(submission)
            if not hint and not any(s["stop"] for s in found):
                acc = observe(submission, threshold, [{"loss": 0.01, "acc": 0.9999}])[0]
                if acc["stop"]:
                    hint = (" Likely mistake: your callback reads logs['acc'], the Keras 2 name; "
                            "with metrics=['accuracy'] Keras 3 logs the key 'accuracy'.")
            if not hint and threshold is not None and not any(s["stop"] for s in found):
                hint = (f" It did not stop even at accuracy {cases[2]['accuracy']}. Likely "
                        "mistake: the threshold passed to __init__ is ignored (e.g. 0.99 is "
                        "written into on_epoch_end); keep it (self.threshold = threshold) and "
                        "compare with it.")
            raise CheckFailed(f"{what} did not set model.stop_training = True; at accuracy "
                              f"{logs['accuracy']} >= {effective} it should.{hint}")
        if not should and seen["stop"]:
            raise CheckFailed(
                f"{what} stopped training, but the accuracy {logs['accuracy']} is below the "
                f"threshold {effective}. Likely mistake: a comparison that is too loose, or "
                "the wrong threshold (the default is 0.99, and a threshold passed to __init__ "
                "replaces it).")


# --------------------------------------------------------------------------- the callback


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_is_a_keras_callback(submission):
    """AccuracyThresholdCallback: a keras Callback with on_epoch_end"""
    info = submission.probe(probe_class, CLASS)
    expect(isinstance(info, dict), f"{CLASS} could not be observed.")
    expect(info["is_class"], f"{CLASS} should be a class, found a {info.get('type')}: write "
           f"class {CLASS}(tf.keras.callbacks.Callback): ...")
    expect(info["is_callback"], f"{CLASS} does not inherit from tf.keras.callbacks.Callback "
           "(keras.callbacks.Callback), so fit() will refuse it: write "
           f"class {CLASS}(tf.keras.callbacks.Callback).")
    expect(info["init_error"] is None,
           f"{CLASS}() or {CLASS}(0.5) failed: {info['init_error']}. __init__ takes the "
           "threshold with a default: def __init__(self, threshold=0.99), and calls "
           "super().__init__().")
    expect("on_epoch_end" in info["hooks"], hooks_hint(submission).strip())


@pytest.mark.points(2)
@pytest.mark.target(CLASS)
def test_callback_default_threshold(submission):
    """AccuracyThresholdCallback(): stops at 99% training accuracy, not before"""
    check_stops(submission, None, 0.99)


@pytest.mark.hidden
@pytest.mark.points(2)
@pytest.mark.target(CLASS)
def test_callback_other_thresholds(submission):
    """AccuracyThresholdCallback(threshold): stops at the threshold it was given"""
    for threshold in (0.9, 0.75, 0.6):
        check_stops(submission, threshold, threshold)


POSITIVE = {"loss": 0.01, "accuracy": 0.995}  # a case where the callback must stop


def positive_control(submission, seen: dict, situation: str) -> None:
    """The 'does nothing' checks mean something only for a callback that does something."""
    if seen["error"]:
        raise CheckFailed(f"{describe(None, POSITIVE)} raised {seen['error']}.")
    expect(seen["stop"],
           f"{describe(None, POSITIVE)} does not stop training, so there is nothing to check "
           f"{situation} yet: first make the callback stop at 99% accuracy."
           + hooks_hint(submission))


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_without_accuracy(submission):
    """AccuracyThresholdCallback: no logs, or no accuracy in them: does nothing"""
    cases = [None, {}, {"loss": 0.02}]
    found = observe(submission, None, [*cases, POSITIVE])
    for logs, seen in zip(cases, found, strict=False):
        what = describe(None, logs)
        if seen["error"]:
            raise CheckFailed(
                f"{what} raised {seen['error']}. Keras may call on_epoch_end without logs, or "
                "with logs that hold no 'accuracy' (a model compiled without metrics): then "
                "the callback must simply do nothing. Use logs = logs or {} and "
                "logs.get('accuracy'), and check that it is not None before comparing.")
        expect(not seen["stop"], f"{what} stopped training without knowing the accuracy.")
    positive_control(submission, found[-1], "without logs")


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_keras2_acc_key(submission):
    """AccuracyThresholdCallback: reads 'accuracy', not Keras 2's 'acc'"""
    logs = {"loss": 0.01, "acc": 0.995}
    seen, control = observe(submission, None, [logs, POSITIVE])
    what = describe(None, logs)
    if seen["error"]:
        raise CheckFailed(
            f"{what} raised {seen['error']}. These logs hold only 'acc', the key Keras 2 used "
            "(and Keras 3 uses for a model compiled with metrics=['acc']); with no 'accuracy' "
            "key the callback must do nothing: read logs.get('accuracy').")
    expect(not seen["stop"],
           f"{what} stopped training: your callback reads 'acc', the Keras 2 name. In Keras 3 a "
           "model compiled with metrics=['accuracy'] logs the key 'accuracy', so a callback "
           "reading 'acc' never fires; read logs.get('accuracy').")
    positive_control(submission, control, "with the Keras 2 key 'acc'")


def message_mistakes(threshold: float) -> list[tuple[str, str]]:
    value = threshold * 100
    return [
        (f"Reached {threshold}% accuracy", "the threshold is a fraction; print it as a "
         f"percentage: {threshold} is {percent(threshold)} (f'{{threshold:.0%}}' does it)"),
        (f"Reached {value:.1f}% accuracy", "print the percentage without decimals: "
         f"{percent(threshold)}, not {value:.1f}%"),
        ("Reached 99% accuracy", "the percentage must follow the threshold, not always say 99%"),
    ]


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_message(submission):
    """AccuracyThresholdCallback: prints 'Reached 99% accuracy so cancelling training!'"""
    # accuracies above 0.99 for both, so the message is checked even where the comparison
    # is wrong (that has checks of its own)
    for threshold, accuracy in ((None, 0.995), (0.9, 0.995)):
        effective = 0.99 if threshold is None else threshold
        expected = f"Reached {percent(effective)} accuracy so cancelling training!"
        logs = {"loss": 0.02, "accuracy": accuracy}
        seen = observe(submission, threshold, [logs, {"loss": 0.02, "accuracy": effective - 0.05}])
        what = describe(threshold, logs)
        if seen[0]["error"]:
            raise CheckFailed(f"{what} raised {seen[0]['error']}.")
        lines = [line.strip() for line in seen[0]["stdout"].splitlines()]
        if expected in lines:
            expect("Reached" not in seen[1]["stdout"],
                   f"{describe(threshold, {'accuracy': effective - 0.05})} printed "
                   f"{seen[1]['stdout'].strip()!r} although the accuracy is below the "
                   "threshold: print the message only when you stop training.")
            continue
        printed = seen[0]["stdout"].strip()
        hint = ""
        for wrong, explanation in message_mistakes(effective):
            if wrong in printed and not (threshold is None and wrong.startswith("Reached 99%")):
                hint = f" Likely mistake: {explanation}."
                break
        if not hint and expected.lower() in printed.lower():
            hint = " Check the capitals and the line: print exactly this sentence on its own line."
        elif not hint and printed.replace("\n", " ").strip() == "":
            hint = " Nothing was printed."
        raise CheckFailed(f"{what} should print {expected!r}, it printed {printed[:300]!r}.{hint}")


# --------------------------------------------------------------------------- train_mnist


@pytest.fixture(scope="module")
def mnist_data(profile, course_seed):
    import callback_budget  # beside this suite

    return callback_budget.mnist_subset(int(profile["train_samples"]), course_seed)


@pytest.fixture(scope="module")
def trained(submission, mnist_data):
    """train_mnist run once per submission: the HistoryObservation, or the failed check."""
    x, y = mnist_data
    try:
        return submission.history("train_mnist", x, y)
    except CheckFailed as exc:
        message = str(exc)
        if "not a valid dtype for Keras type promotion" in message:
            message += " Likely mistake: " + KERAS3_METRICS
        return CheckFailed(message)


def history_of(trained):
    if isinstance(trained, CheckFailed):
        raise CheckFailed(str(trained))
    return trained


@pytest.fixture(scope="module")
def heldout_data(profile, course_seed):
    import callback_budget  # beside this suite

    return callback_budget.mnist_heldout(int(profile["heldout_samples"]), course_seed)


def check_backed(found, heldout, profile) -> None:
    """A History is easy to forge (a hand-made one, or a lookup table of the given images as
    its model), so it counts only when its model, rebuilt here and evaluated on MNIST test
    images the worker never saw, comes within ``heldout_margin`` of its last accuracy."""
    import callback_budget

    expect(found.model is not None,
           "train_mnist returned a History without a model: return what model.fit(...) returns.")
    accuracy = found.history.get("accuracy") or found.history.get("acc") or []
    expect(bool(accuracy), "train_mnist: the History records no accuracy.")
    try:
        model = found.model.model  # rebuilt on this side from config (safe mode, within budget)
    except CheckFailed as exc:
        raise CheckFailed(f"train_mnist: {exc}" + FUNCTION_HINT * ("function" in str(exc))) from None
    x, y = heldout
    measured, scaling = callback_budget.measured_accuracy(model, x, y)
    margin = float(profile["heldout_margin"])
    expect(measured >= accuracy[-1] - margin,
           f"train_mnist: the History reports a final training accuracy of {accuracy[-1]:.4f}, "
           f"but its model, evaluated by the grader on {len(y):,} MNIST test images your code "
           f"never saw ({scaling}), classifies only {measured:.4f} of them correctly; a network "
           f"trained to that accuracy gets within {margin:g} of it. Return the History that "
           "model.fit(...) returned for the model you trained (the train_mnist checks count only "
           "a History that is backed by its model).")


@pytest.fixture(scope="module")
def backed(trained, heldout_data, profile):
    """None when the History is backed by its model (:func:`check_backed`), else why not."""
    if isinstance(trained, CheckFailed):
        return trained
    try:
        check_backed(trained, heldout_data, profile)
    except CheckFailed as exc:
        return exc
    return None


def require_backed(backed) -> None:
    if backed is not None:
        raise CheckFailed(str(backed))


@pytest.mark.points(3)
@pytest.mark.target("train_mnist")
def test_train_mnist_history(trained, backed, profile, feedback):
    """train_mnist: stops once training accuracy reaches 99%, within 10 epochs"""
    found = history_of(trained)
    yours = found.history.get("accuracy") or found.history.get("acc")
    if yours:
        series = {"your train_mnist": yours}
        if profile.get("reference_accuracy"):
            series["the reference"] = list(profile["reference_accuracy"])
        target = float(profile["target_accuracy"])
        feedback.curves(f"training accuracy per epoch (the callback should stop once it reaches {target:g})",
                        series, ylabel="training accuracy", threshold=target,
                        threshold_label=f"stop here: accuracy {target:g}")
    limit, target = int(profile["max_epochs"]), float(profile["target_accuracy"])
    keys = sorted(found.history)
    if "accuracy" not in found.history:
        if "acc" in found.history:
            raise CheckFailed(
                "train_mnist: the History has the key 'acc' but no 'accuracy': the model was "
                "compiled with metrics=['acc'], a Keras 2 habit. Keras 3 logs that metric as "
                "'acc', so the callback, which reads 'accuracy', never sees it. Compile with "
                "metrics=['accuracy'].")
        raise CheckFailed(f"train_mnist: the History has no 'accuracy' (its keys: {keys}): "
                          "compile the model with metrics=['accuracy'].")
    require_backed(backed)
    accuracy = found.history["accuracy"]
    planned = found.params.get("epochs")
    ran = len(found.epoch) or len(accuracy)
    expect(isinstance(planned, int) and planned <= limit,
           f"train_mnist: fit() was asked for {planned} epochs; at most {limit} are allowed "
           f"(epochs={limit}).")
    expect(ran > 0 and accuracy, "train_mnist: the History records no epoch.")
    expect(accuracy[-1] >= target,
           f"train_mnist: after {ran} epochs the training accuracy is {accuracy[-1]:.4f}; it "
           f"should reach {target}."
           + (" Likely mistake: the pixels were not scaled (divide x_train by 255.0): a dense "
              "network learns slowly from 0..255 inputs." if accuracy[-1] < target else ""))
    first = next((i for i, a in enumerate(accuracy) if a >= target), None)
    expect(first == ran - 1,
           f"train_mnist: the training accuracy reached {target} at epoch "
           f"{first + 1 if first is not None else '?'} but training went on to epoch {ran}: pass "
           f"callbacks=[{CLASS}()] to fit(), and make the callback set "
           "self.model.stop_training = True (its own checks say whether it does).")
    expect(ran < planned,
           f"train_mnist: training ran all {planned} epochs; it should stop as soon as the "
           f"accuracy reaches {target}: pass callbacks=[{CLASS}()] to fit().")


@pytest.mark.points(1)
@pytest.mark.target("train_mnist")
def test_train_mnist_uses_callback(trained, backed):
    """train_mnist: the callback announces the stop"""
    found = history_of(trained)
    require_backed(backed)
    expect(re.search(r"Reached .*accuracy so cancelling training", found.stdout) is not None,
           "train_mnist did not print 'Reached 99% accuracy so cancelling training!': train "
           f"with the callback, fit(..., callbacks=[{CLASS}()]), and let it print the message.")


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("train_mnist")
def test_train_mnist_model_agrees(trained, backed):
    """train_mnist: the History's model really has the accuracy the History reports, over the 10 digits"""
    found = history_of(trained)
    require_backed(backed)
    try:
        outputs = tuple(found.model.model.output_shape)[1:]
    except (AttributeError, TypeError, ValueError):  # a model with several outputs, or none known
        outputs = None
    expect(outputs == (10,),
           f"train_mnist: the model outputs {outputs} per image; MNIST has 10 classes (the digits "
           "0 to 9), so the last layer is Dense(10, activation='softmax'): one probability per "
           "digit. Likely mistake: the wrong number of units in the output layer.")
