"""Grading suite of 07_cnn_journey: the 99.8% callback and the journey of an image.

``myCallback`` is observed in two ways. Probes (run in the student's worker) create it,
attach a tiny Keras model and call ``on_epoch_end`` with logs chosen here (accuracies
around 0.998 and 0.99, exactly 0.998, no logs, only Keras 2's ``acc``), and report whether
``model.stop_training`` was set and what was printed. Then the grader's own small CNN is
trained in the worker on a few hundred MNIST images with the student's callback, on the
profile's budget (``journey_budget.py`` beside this file, calibrated in docs/CALIBRATION.md):
the History must end with the first epoch whose accuracy is above 0.998 (calibrated to come
well before the budget's last epoch; the message is the probes' check). That run checks the
callback inside a real ``fit``; it does not train to 99.8% on the full MNIST, which takes many
epochs, and it cannot tell '>' from '>=' (only the probes can).

``layer_outputs(model, images)`` is called in the worker on models the grader builds (seeded
weights, sent as config + weights) and MNIST test images; the arrays it returns come back
as data and are compared, shape by shape and value by value, with the grader's own
computation on the same model here. Hidden checks use a model of another layout and a
Sequential model that has never been built. The feedback shows one filter's activation
maps for three images, the student's next to the expected.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import CheckFailed, expect

CLASS = "myCallback"
THRESHOLD = 0.998
MESSAGE = "Reached 99.8% accuracy so cancelling training!"
FILTER = 1  # the filter whose activation maps the feedback shows (the lesson's)

# --------------------------------------------------------------------------- probes (worker)


def probe_class(ns, name):
    """In the worker: what kind of thing the submission's callback class is."""
    import inspect

    import keras

    cls = ns.get(name)
    info = {"is_class": inspect.isclass(cls), "is_callback": False, "hooks": [], "init_error": None}
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
    except Exception as exc:  # noqa: BLE001 - reported to the trusted side as text
        info["init_error"] = f"{type(exc).__name__}: {exc}"
    return info


def probe_epoch_end(ns, name, cases):
    """In the worker: for each logs dict, a fresh callback on a fresh tiny model gets
    ``on_epoch_end(0, logs)``; report whether it stopped training and what it printed."""
    import contextlib
    import io

    import keras

    seen = []
    for logs in cases:
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
        model.stop_training = False
        out = io.StringIO()
        error, callback, stage = None, None, "creating it"
        try:
            with contextlib.redirect_stdout(out):
                callback = ns[name]()
                stage = "set_model(model)"
                callback.set_model(model)
                stage = "on_epoch_end"
                callback.on_epoch_end(0, None if logs is None else dict(logs))
        except Exception as exc:  # noqa: BLE001 - reported as text
            error = f"{type(exc).__name__}: {exc}{student_line(exc)}"  # noqa: F821 - helper
            if stage != "on_epoch_end":
                error = f"{error}, while {stage}"
        own_flag = callback is not None and vars(callback).get("stop_training") is True
        seen.append({"stop": model.stop_training is True, "stdout": out.getvalue()[:2000],
                     "error": error, "own_flag": bool(own_flag)})
    return seen


def probe_training(ns, name, description, x, y, epochs, batch_size, seed):
    """In the worker: the grader's CNN trained with the student's callback (journey_budget)."""
    import contextlib
    import io

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            callback = ns[name]()
            run = train_with_callback(description, x, y, callback, epochs=epochs,  # noqa: F821 - helper
                                      batch_size=batch_size, seed=seed)
    except Exception as exc:  # noqa: BLE001 - the student's callback failed inside fit
        return {"error": f"{type(exc).__name__}: {exc}{student_line(exc)}",  # noqa: F821 - helper
                "stdout": out.getvalue()[-2000:]}
    run["stdout"] = out.getvalue()[-4000:]
    run["error"] = None
    return run


def probe_layer_outputs(ns, description, images, built):
    """In the worker: the student's layer_outputs on the grader's model and images; each
    returned item as a float32 array (or what it was, when it is no array)."""
    import contextlib
    import io

    import numpy as np

    model = model_from_description(description, built=built)  # noqa: F821 - helper
    given = np.array(images, copy=True)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            found = ns["layer_outputs"](model, given)
    except Exception as exc:  # noqa: BLE001 - reported as text
        return {"error": f"{type(exc).__name__}: {exc}{student_line(exc)}"}  # noqa: F821 - helper
    report = {"error": None, "type": type(found).__name__, "items": None, "array": None,
              "scaled_input": bool(not np.array_equal(given, images))}
    if isinstance(found, (list, tuple)):
        items = []
        for item in list(found)[:32]:
            try:
                array = np.asarray(item, dtype=np.float32)
            except Exception:  # noqa: BLE001 - not numbers
                items.append({"type": type(item).__name__, "array": None})
                continue
            items.append({"type": type(item).__name__, "array": array if array.size <= 4_000_000 else None,
                          "shape": list(array.shape)})
        report["items"] = items
        report["length"] = len(found)
    elif hasattr(found, "shape") and hasattr(found, "dtype"):  # one array (or tensor)
        try:
            report["array"] = np.asarray(found, dtype=np.float32)
        except Exception:  # noqa: BLE001 - not numbers
            pass
    return report


# --------------------------------------------------------------------------- the callback


def observe(submission, cases):
    import journey_budget  # beside this suite: its student_line runs in the worker

    found = submission.probe(probe_epoch_end, CLASS, cases, helpers=[journey_budget])
    expect(isinstance(found, list) and len(found) == len(cases), f"{CLASS} could not be observed.")
    return found


def describe(logs) -> str:
    return f"{CLASS}().on_epoch_end(0, logs={logs!r})"


def hooks_hint(submission) -> str:
    info = submission.probe(probe_class, CLASS)
    hooks = set(info.get("hooks") or []) if isinstance(info, dict) else set()
    if "on_epoch_end" not in hooks:
        others = ", ".join(sorted(hooks)) or "no on_... method"
        return (f" Your class defines {others}: the check belongs in on_epoch_end(self, epoch, "
                "logs=None), which Keras calls after each epoch with that epoch's logs.")
    return ""


def logs_for(accuracy: float) -> dict:
    return {"loss": 0.01, "accuracy": accuracy}


POSITIVE = logs_for(0.9995)  # a case where the callback must stop


def never_stops_hint(submission, found) -> str:
    """Why a callback stopped at none of the accuracies above 0.998."""
    if any(s["own_flag"] for s in found):
        return (" Likely mistake: you set self.stop_training, an attribute of the callback that "
                "Keras never reads; set self.model.stop_training = True.")
    hint = hooks_hint(submission)
    if hint:
        return hint
    acc = observe(submission, [{"loss": 0.01, "acc": 0.9995}])[0]
    if acc["stop"]:
        return (" Likely mistake: your callback reads logs['acc'], the Keras 2 name; with "
                "metrics=['accuracy'] Keras 3 logs the key 'accuracy'.")
    return (" Likely mistake: the threshold is not 0.998 (99.8% as a fraction: compare with "
            "0.998, not 99.8), or the comparison is the wrong way round.")


def positive_control(submission, seen: dict, situation: str) -> None:
    """The 'does nothing' checks mean something only for a callback that does something."""
    if seen["error"]:
        raise CheckFailed(f"{describe(POSITIVE)} raised {seen['error']}.")
    expect(seen["stop"], f"{describe(POSITIVE)} does not stop training, so there is nothing to "
           f"check {situation} yet: first make the callback stop above 99.8% accuracy."
           + hooks_hint(submission))


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_is_a_keras_callback(submission):
    """myCallback: a keras Callback with on_epoch_end"""
    info = submission.probe(probe_class, CLASS)
    expect(isinstance(info, dict), f"{CLASS} could not be observed.")
    expect(info["is_class"], f"{CLASS} should be a class, found a {info.get('type')}: write "
           f"class {CLASS}(tf.keras.callbacks.Callback): ...")
    expect(info["is_callback"], f"{CLASS} does not inherit from tf.keras.callbacks.Callback "
           f"(keras.callbacks.Callback), so fit() will refuse it: write class {CLASS}(tf.keras.callbacks.Callback).")
    expect(info["init_error"] is None, f"{CLASS}() failed: {info['init_error']}. If you write an "
           "__init__, give every argument a default and call super().__init__().")
    expect("on_epoch_end" in info["hooks"], hooks_hint(submission).strip())


@pytest.mark.points(2)
@pytest.mark.target(CLASS)
def test_callback_stops_above_998(submission):
    """myCallback: stops above 99.8% training accuracy, not below"""
    accuracies = [0.9, 0.99, 0.995, 0.9979, 0.9981, 0.999, 1.0]
    cases = [logs_for(a) for a in accuracies]
    found = observe(submission, cases)
    for logs, seen in zip(cases, found, strict=True):
        if seen["error"]:
            raise CheckFailed(f"{describe(logs)} raised {seen['error']}.")
    stopped = [a for a, s in zip(accuracies, found, strict=True) if s["stop"]]
    below = [a for a in stopped if a <= THRESHOLD]
    if below:
        lowest = min(below)
        hint = (" Likely mistake: the threshold of the 99% exercise, 0.99; this one stops above "
                "0.998 (99.8%)." if lowest > 0.9 else
                " Likely mistake: a threshold far below 0.998, or a comparison the wrong way round.")
        raise CheckFailed(f"{describe(logs_for(lowest))} stopped training, but {lowest} is not above "
                          f"{THRESHOLD}: stop only when logs['accuracy'] > {THRESHOLD}.{hint}")
    missed = [a for a in accuracies if a > THRESHOLD and a not in stopped]
    if missed:
        hint = never_stops_hint(submission, found) if not stopped else (
            f" It stopped only at {', '.join(map(str, stopped))}. Likely mistake: a threshold above "
            f"0.998; compare with 0.998.")
        raise CheckFailed(f"{describe(logs_for(missed[0]))} did not set model.stop_training = True; "
                          f"{missed[0]} is above {THRESHOLD}, so it should.{hint}")


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_not_at_998(submission):
    """myCallback: at exactly 99.8% it does not stop yet (above, not at)"""
    logs = logs_for(THRESHOLD)
    seen, control, below = observe(submission, [logs, logs_for(0.9985), logs_for(0.9979)])
    if seen["error"]:
        raise CheckFailed(f"{describe(logs)} raised {seen['error']}.")
    if seen["stop"] and below["stop"]:
        raise CheckFailed(f"{describe(logs)} stopped training, and so does 0.9979: the threshold is "
                          f"below {THRESHOLD} (the check of the threshold says more).")
    expect(not seen["stop"], f"{describe(logs)} stopped training: the accuracy must be *above* "
           f"{THRESHOLD}, as in the lesson. Likely mistake: '>=' instead of '>'.")
    if control["error"] or not control["stop"]:
        raise CheckFailed(f"{describe(logs_for(0.9985))} did not stop training"
                          + (f" (it raised {control['error']})" if control["error"] else "")
                          + f", so there is nothing to check at exactly {THRESHOLD} yet: first make "
                          "the callback stop above 99.8% accuracy." + hooks_hint(submission))


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_without_accuracy(submission):
    """myCallback: no logs, or no accuracy in them: does nothing"""
    cases = [None, {}, {"loss": 0.02}]
    found = observe(submission, [*cases, POSITIVE])
    for logs, seen in zip(cases, found, strict=False):
        if seen["error"]:
            raise CheckFailed(
                f"{describe(logs)} raised {seen['error']}. Keras may call on_epoch_end without logs, "
                "or with logs that hold no 'accuracy' (a model compiled without metrics): then the "
                "callback must simply do nothing. Use logs = logs or {} and logs.get('accuracy'), "
                "and check that it is not None before comparing.")
        expect(not seen["stop"], f"{describe(logs)} stopped training without knowing the accuracy.")
    positive_control(submission, found[-1], "without logs")


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_keras2_acc_key(submission):
    """myCallback: reads 'accuracy', not Keras 2's 'acc'"""
    logs = {"loss": 0.01, "acc": 0.9995}
    seen, control = observe(submission, [logs, POSITIVE])
    if seen["error"]:
        raise CheckFailed(
            f"{describe(logs)} raised {seen['error']}. These logs hold only 'acc', the key Keras 2 "
            "used; with no 'accuracy' key the callback must do nothing: read logs.get('accuracy').")
    expect(not seen["stop"],
           f"{describe(logs)} stopped training: your callback reads 'acc', the Keras 2 name. In "
           "Keras 3 a model compiled with metrics=['accuracy'] logs the key 'accuracy', so a "
           "callback reading 'acc' never fires; read logs.get('accuracy').")
    positive_control(submission, control, "with the Keras 2 key 'acc'")


def message_hint(printed: str) -> str:
    if "Reached 99% accuracy" in printed:
        return " Likely mistake: the message of the 99% exercise; this one says 99.8%."
    if "0.998" in printed:
        return " Likely mistake: the threshold printed as a fraction; the message says 99.8%."
    if MESSAGE.lower() in printed.lower():
        return " Check the capitals and the line: print exactly this sentence on its own line."
    if not printed.strip():
        return " Nothing was printed."
    return ""


@pytest.mark.points(1)
@pytest.mark.target(CLASS)
def test_callback_message(submission):
    """myCallback: prints 'Reached 99.8% accuracy so cancelling training!' when it stops"""
    seen, quiet = observe(submission, [POSITIVE, logs_for(0.95)])
    if seen["error"]:
        raise CheckFailed(f"{describe(POSITIVE)} raised {seen['error']}.")
    lines = [line.strip() for line in seen["stdout"].splitlines()]
    printed = seen["stdout"].strip()
    expect(MESSAGE in lines, f"{describe(POSITIVE)} should print {MESSAGE!r}, it printed "
           f"{printed[:300]!r}.{message_hint(printed)}")
    expect("Reached" not in quiet["stdout"],
           f"{describe(logs_for(0.95))} printed {quiet['stdout'].strip()[:300]!r} although the "
           "accuracy is below the threshold: print the message only when you stop training.")


@pytest.fixture(scope="module")
def stop_budget(profile, course_seed):
    """The grader's training: its model (as probe arguments), its MNIST images, its budget."""
    import journey_budget  # beside this suite

    x, y = journey_budget.mnist_subset(int(profile["stop_samples"]), course_seed)
    return {"description": journey_budget.describe(journey_budget.stop_model(course_seed)), "x": x, "y": y,
            "epochs": int(profile["stop_max_epochs"]), "batch_size": int(profile["stop_batch_size"]),
            "seed": course_seed}


@pytest.mark.points(2)
@pytest.mark.target(CLASS)
def test_callback_stops_cnn_training(submission, stop_budget, profile, feedback):
    """myCallback: stops a CNN's training on MNIST once its accuracy is above 99.8%"""
    import journey_budget

    budget = stop_budget
    samples, limit = len(budget["y"]), budget["epochs"]
    run = submission.probe(probe_training, CLASS, budget["description"], budget["x"], budget["y"],
                           limit, budget["batch_size"], budget["seed"], helpers=[journey_budget])
    setting = (f"The grader trained a small CNN of its own on {samples} MNIST training images, at most "
               f"{limit} epochs, with callbacks=[{CLASS}()]")
    expect(isinstance(run, dict), f"{CLASS} could not be observed in training.")
    if run.get("error"):
        raise CheckFailed(f"{setting}, and training failed: {run['error']}.")
    accuracy = [float(a) for a in (run.get("history") or {}).get("accuracy") or []]
    ran = int(run.get("epochs_run") or 0)
    expect(ran > 0 and len(accuracy) == ran, f"{setting}: the training recorded no epoch.")
    series = {f"with your {CLASS}": accuracy}
    if profile.get("reference_accuracy"):
        series["with the reference callback"] = list(profile["reference_accuracy"])
    feedback.curves(f"training accuracy per epoch of the grader's CNN ({samples} images)", series,
                    ylabel="training accuracy", threshold=THRESHOLD, threshold_label="stop above 0.998")
    first = next((i for i, a in enumerate(accuracy) if a > THRESHOLD), None)
    if first is None and ran == limit:
        # the grader's budget, calibrated to reach 99.8% well within it, did not: not the student's doing
        raise RuntimeError(f"the grader's training never went above {THRESHOLD} in {limit} epochs: {accuracy}")
    if first is None:
        raise CheckFailed(f"{setting}: training stopped after epoch {ran}, at accuracy {accuracy[-1]:.4f}, "
                          f"which is not above {THRESHOLD}. Stop only when logs['accuracy'] > {THRESHOLD}."
                          + (" Likely mistake: the threshold 0.99 of the 99% exercise."
                             if accuracy[-1] > 0.99 else ""))
    if ran - 1 > first:
        raise CheckFailed(f"{setting}: the accuracy was {accuracy[first]:.4f} after epoch {first + 1}, above "
                          f"{THRESHOLD}, but training went on to epoch {ran}: the callback must set "
                          "self.model.stop_training = True at the end of that epoch (its own checks "
                          "say more).")


# --------------------------------------------------------------------------- layer_outputs


@pytest.fixture(scope="module")
def journey_images(course_seed):
    """Three MNIST test images (scaled to [0, 1], with a channel axis) and five more."""
    import journey_budget

    x, _ = journey_budget.mnist_subset(8, course_seed, test=True)
    images = journey_budget.normalize(x)
    return images[:3], images[3:]


def run_layer_outputs(submission, name: str, images: np.ndarray, built: bool = True):
    """The grader's model ``name``, the student's layer_outputs for it and the grader's own."""
    import journey_budget

    model = journey_budget.journey_model(name, 7)
    report = submission.probe(probe_layer_outputs, journey_budget.describe(model), images, built,
                              helpers=[journey_budget])
    expect(isinstance(report, dict), "layer_outputs could not be observed.")
    return model, report


def layer_names(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def shapes_of(arrays) -> list[tuple]:
    return [tuple(a.shape) for a in arrays]


def what_call(model, images: np.ndarray, built: bool = True) -> str:
    layout = ", ".join(layer_names(model))
    return (f"layer_outputs(model, images) with {len(images)} images and a model of layers "
            f"[{layout}]" + ("" if built else " that has never been built or called (no keras.Input)"))


def found_arrays(report: dict, what: str, expected: list | None = None) -> list[np.ndarray]:
    """The student's list as arrays, or the failed check with the likely cause."""
    if report.get("error"):
        error = report["error"]
        hint = ""
        if "no defined inputs" in error or "has never been called" in error:
            hint = (" Likely mistake: model.inputs (or layer.output) of a model that has not been "
                    "built: call the model on the images first, model(images[:1]), then build the "
                    "activation model.")
        raise CheckFailed(f"{what} raised {error}.{hint}")
    if report.get("items") is None:
        array = report.get("array")
        if not isinstance(array, np.ndarray):
            found = "None" if report.get("type") == "NoneType" else f"a {report.get('type')}"
            raise CheckFailed(f"{what} returned {found}; it should return a list with one numpy array "
                              "per Conv2D and MaxPooling2D layer.")
        cause = "only one layer's output, or the model's prediction, instead of the list"
        if expected and len(expected) == 1 and array.shape == expected[0].shape:
            cause = ("this model has one Conv2D/MaxPooling2D layer, so the activation model has one "
                     "output, and Keras returns it as one array, not as a list of one: put it in a "
                     "list, [output]")
        elif expected and array.shape == expected[-1].shape:
            cause = ("only the output of the last MaxPooling2D/Conv2D layer; return the list of all "
                     "of them, one array per layer")
        raise CheckFailed(f"{what} returned one array of shape {array.shape}, not a list; it should "
                          "return a list with one array per Conv2D and MaxPooling2D layer. Likely "
                          f"mistake: {cause}.")
    arrays = []
    for i, item in enumerate(report["items"]):
        if not isinstance(item.get("array"), np.ndarray):
            raise CheckFailed(f"{what}: item {i} of the list is a {item.get('type')}, not an array of "
                              "numbers: return numpy arrays (predict returns them).")
        arrays.append(item["array"])
    return arrays


def structure_mistake(model, found: list, expected: list, images: np.ndarray) -> str:
    """The likely cause of a list whose length or shapes differ from the expected ones."""
    import journey_budget

    every = [tuple(s) for s in every_layer_shapes(model, len(images))]
    kinds = [type(layer).__name__ for layer in journey_budget.journey_layers(model)]
    want = shapes_of(expected)
    got = shapes_of(found)
    conv = [s for s, k in zip(want, kinds, strict=True) if k == "Conv2D"]
    pool = [s for s, k in zip(want, kinds, strict=True) if k == "MaxPooling2D"]
    if got == every:
        return ("the outputs of every layer, Flatten and Dense included; keep only the Conv2D and "
                "MaxPooling2D layers")
    if len(want) == 1 and got == [want[0][1:]] * len(images):
        return ("the one array of a single-output model split into one array per image: with one "
                "Conv2D/MaxPooling2D layer, the activation model returns its output as one array, "
                "not as a list of one, and a loop over it goes through the images; put it in a list, "
                "[output]")
    # each wanted layer's input: the model's input or the previous layer's output
    before = [(len(images), *tuple(model.inputs[0].shape)[1:]), *every[:-1]]
    inputs = [before[i] for i, layer in enumerate(model.layers) if type(layer).__name__ in journey_budget.JOURNEY_KINDS]
    if got == inputs and got != want:
        return ("the layers' inputs (layer.input), not their outputs: use layer.output for each "
                "Conv2D and MaxPooling2D layer")
    if len(want) > 1 and got == want[1:]:
        return ("the first Conv2D/MaxPooling2D layer is missing: model.layers[1:] skips it (Keras 3's "
                "model.layers holds no InputLayer, so the first layer is a real one)")
    if got == conv:
        return "only the Conv2D layers: the MaxPooling2D layers' outputs are missing"
    if got == pool:
        return "only the MaxPooling2D layers: the Conv2D layers' outputs are missing"
    if got == want[::-1]:
        return "the right layers in reverse order: keep the order of model.layers"
    if got in (want[-1:], every[-1:]):
        return "only the last layer's output; return one array per Conv2D and MaxPooling2D layer"
    if got == every[:len(got)] and len(got) < len(every):
        return (f"the first {len(got)} layers of the model, whatever they are (the lesson's model "
                "starts with four convolution and pooling layers, this one does not): choose the "
                "layers by their kind, isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))")
    if len(got) == len(want) and all(len(g) == len(w) and g[1:] == w[1:] for g, w in zip(got, want, strict=True)):
        counts = sorted({g[0] for g in got})
        return (f"outputs for {', '.join(map(str, counts))} image(s) instead of all {len(images)}: "
                "compute each layer's output for the whole batch")
    return ""


def every_layer_shapes(model, count: int) -> list[tuple]:
    return [(count, *tuple(layer.output.shape)[1:]) for layer in model.layers]


def check_structure(model, found: list, expected: list, images: np.ndarray, what: str) -> None:
    if shapes_of(found) == shapes_of(expected):
        return
    cause = structure_mistake(model, found, expected, images)
    listed = "\n".join(f"- {layer.name} ({type(layer).__name__}): {tuple(e.shape)}"
                       for layer, e in zip(_journey_layers(model), expected, strict=True))
    raise CheckFailed(
        f"{what} returned {len(found)} array(s) of shapes {shapes_of(found)}; expected "
        f"{len(expected)}, one per Conv2D and MaxPooling2D layer, in order:\n{listed}"
        + (f"\n\nLikely mistake: {cause}." if cause else ""))


def _journey_layers(model):
    import journey_budget

    return journey_budget.journey_layers(model)


def check_values(model, found: list, expected: list, images: np.ndarray, what: str) -> None:
    import journey_budget

    wrong = [i for i, (f, e) in enumerate(zip(found, expected, strict=True))
             if not np.allclose(f, e, rtol=1e-4, atol=1e-4)]
    if not wrong:
        return
    hint = ""
    rescaled = journey_budget.expected_layer_outputs(model, images / np.float32(255.0))
    if all(np.allclose(f, r, rtol=1e-4, atol=1e-5) for f, r in zip(found, rescaled, strict=True)):
        hint = (" Likely mistake: the images were scaled again (divided by 255); they arrive "
                "already scaled to [0, 1]: give them to the model as they are.")
    elif len(images) > 1 and all(np.allclose(f, f[:1]) for f in found):
        hint = " Every image got the same output: compute the outputs for each of the images given."
    layer = _journey_layers(model)[wrong[0]]
    difference = float(np.max(np.abs(found[wrong[0]] - expected[wrong[0]])))
    raise CheckFailed(
        f"{what}: the shapes are right but the values of {len(wrong)} of the {len(expected)} arrays "
        f"differ from the outputs of the model's layers, first for {layer.name} "
        f"({type(layer).__name__}, largest difference {difference:.4g}).{hint or ' Return what each layer computes for these images, with the model as it is (its weights unchanged).'}")


def show_maps(feedback, model, found: list | None, expected: list, title: str) -> None:
    """The activation maps of filter FILTER for the images (rows) through the layers
    (columns), the student's next to the expected, one mosaic each; a map smaller than the
    first is enlarged by a whole factor (a 5x5 map as 25x25 blocks of one value)."""
    columns = min(6, max(len(expected), len(found or [])))
    cell = max(max(e.shape[1], e.shape[2]) for e in expected)

    def mosaic(arrays: list) -> np.ndarray:
        rows = expected[0].shape[0]
        canvas = np.full((rows * (cell + 2) - 2, columns * (cell + 2) - 2), np.nan)
        for col, array in enumerate(arrays[:columns]):
            array = np.asarray(array)
            if array.ndim != 4 or array.shape[-1] <= FILTER or array.shape[0] < rows:
                continue
            for row in range(rows):
                fmap = array[row, :cell, :cell, FILTER]
                factor = max(1, cell // max(fmap.shape))  # small maps enlarged (each value a block)
                fmap = np.kron(fmap, np.ones((factor, factor)))
                top = row * (cell + 2) + (cell - fmap.shape[0]) // 2
                left = col * (cell + 2) + (cell - fmap.shape[1]) // 2
                canvas[top:top + fmap.shape[0], left:left + fmap.shape[1]] = fmap
        return canvas

    names = [layer.name for layer in _journey_layers(model)]
    feedback.images(f"{title}: filter {FILTER} of each layer's output, one image per row; the columns "
                    f"are the arrays in order (expected: {', '.join(names)}); smaller maps enlarged",
                    {"yours": mosaic(found or []), "expected": mosaic(expected)}, cmap="inferno",
                    difference=True)


def judge(model, report: dict, images: np.ndarray, what: str, feedback=None, title: str = "") -> None:
    import journey_budget

    expected = journey_budget.expected_layer_outputs(model, images)
    if feedback is not None:
        maps = [item.get("array") if isinstance(item.get("array"), np.ndarray) else np.zeros(0)
                for item in report.get("items") or []]
        show_maps(feedback, model, maps, expected, title)
    found = found_arrays(report, what, expected)
    check_structure(model, found, expected, images, what)
    check_values(model, found, expected, images, what)
    expect(not report.get("scaled_input"),
           f"{what} changed the images it was given (in place): leave the caller's array as it is.")


@pytest.fixture(scope="module")
def lesson_outputs(submission, journey_images):
    """layer_outputs on the lesson's CNN and three images, observed once per submission."""
    images = journey_images[0]
    try:
        model, report = run_layer_outputs(submission, "lesson", images)
    except CheckFailed as exc:
        return exc
    return model, report, images


def observed(lesson_outputs):
    if isinstance(lesson_outputs, CheckFailed):
        raise CheckFailed(str(lesson_outputs))
    return lesson_outputs


@pytest.mark.points(2)
@pytest.mark.target("layer_outputs")
def test_layer_outputs_shapes(lesson_outputs):
    """layer_outputs: one array per Conv2D / MaxPooling2D layer, in order, with its shape"""
    model, report, images = observed(lesson_outputs)
    import journey_budget

    what = what_call(model, images)
    expected = journey_budget.expected_layer_outputs(model, images)
    check_structure(model, found_arrays(report, what, expected), expected, images, what)


@pytest.mark.points(2)
@pytest.mark.target("layer_outputs")
def test_layer_outputs_values(lesson_outputs, feedback):
    """layer_outputs: the activations the model's layers compute for the images"""
    model, report, images = observed(lesson_outputs)
    judge(model, report, images, what_call(model, images), feedback,
          "activation maps of the lesson's CNN for three MNIST test images")


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("layer_outputs")
def test_layer_outputs_other_model(submission, journey_images):
    """layer_outputs: a model with another number and order of convolution and pooling layers"""
    images = journey_images[1]
    model, report = run_layer_outputs(submission, "other", images)
    judge(model, report, images, what_call(model, images))


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("layer_outputs")
def test_layer_outputs_one_layer_model(submission, journey_images):
    """layer_outputs: a model with a single convolution layer still gets a list (of one array)"""
    images = journey_images[1]
    model, report = run_layer_outputs(submission, "single", images)
    judge(model, report, images, what_call(model, images))


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("layer_outputs")
def test_layer_outputs_unbuilt_model(submission, journey_images):
    """layer_outputs: a Sequential model that has never been built (model.inputs missing)"""
    images = journey_images[0][:2]
    model, report = run_layer_outputs(submission, "lesson", images, built=False)
    judge(model, report, images, what_call(model, images, built=False))
