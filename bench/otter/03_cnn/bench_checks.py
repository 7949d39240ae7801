"""Otter-side checks of 03_cnn (support file of the otter autograder; bench only).

Each function mirrors the pass/fail condition of the test of the same name in
solutions/03_cnn/test_03_cnn.py, as an otter author would write it: the student's
``reshape_and_normalize`` is called on random images; the model ``build_cnn()`` returns
(the live object, in the notebook's kernel: otter has no sandbox) is compared layer by
layer (kind, output shape, parameters, key settings), its activations and compile settings
are read, and a fresh copy is trained on the CPU profile's budget (12,000 Fashion-MNIST
images chosen with the course seed, 2 epochs, batch 64) and must reach the profile's test accuracy (0.78).
"""

import numpy as np

QUESTIONS = [  # (name, points, hidden)
    ("test_reshape_and_normalize_shape", 1, False),
    ("test_reshape_and_normalize_values", 1, False),
    ("test_reshape_and_normalize_any_count", 1, True),
    ("test_reshape_and_normalize_new_array", 1, True),
    ("test_build_cnn_layers", 3, False),
    ("test_build_cnn_activations", 1, False),
    ("test_build_cnn_compile", 1, False),
    ("test_build_cnn_trains", 3, True),
]

SEED = 20261121  # the course seed (autograder.toml)
BUDGET = {"train_samples": 12000, "epochs": 2, "batch_size": 64, "test_accuracy": 0.78}  # the cpu profile
# kind, output shape, parameters, activation, settings
EXPECTED = [
    ("Conv2D", (26, 26, 64), 640, "relu", {"filters": 64, "kernel_size": (3, 3), "padding": "valid"}),
    ("MaxPooling2D", (13, 13, 64), 0, None, {"pool_size": (2, 2)}),
    ("Conv2D", (11, 11, 64), 36928, "relu", {"filters": 64, "kernel_size": (3, 3), "padding": "valid"}),
    ("MaxPooling2D", (5, 5, 64), 0, None, {"pool_size": (2, 2)}),
    ("Flatten", (1600,), 0, None, {}),
    ("Dense", (128,), 204928, "relu", {"units": 128}),
    ("Dense", (10,), 1290, "softmax", {"units": 10}),
]
ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax", "Activation": None}
_MODEL = {}


def run(name, ns):
    globals()[name](ns)
    return True


def images(rng, count):
    x = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    x.flat[0], x.flat[1] = 0, 255
    return x


def reshaped_ok(found, x, what):
    expected = (x.astype(np.float32) / np.float32(255.0)).reshape(-1, 28, 28, 1)
    assert isinstance(found, np.ndarray), f"{what}: not a numpy array"
    assert found.shape == expected.shape, f"{what}: shape {found.shape}, expected {expected.shape}"
    assert found.dtype.kind in "biuf" and np.allclose(found.astype(np.float64), expected, rtol=1e-6, atol=1e-6), \
        f"{what}: wrong values"
    assert found.dtype == np.float32, f"{what}: dtype {found.dtype}, expected float32"


def test_reshape_and_normalize_shape(ns):
    found = ns["reshape_and_normalize"](images(np.random.default_rng(31), 5))
    assert isinstance(found, np.ndarray) and found.shape == (5, 28, 28, 1), "expected shape (5, 28, 28, 1)"


def test_reshape_and_normalize_values(ns):
    x = images(np.random.default_rng(32), 5)
    reshaped_ok(ns["reshape_and_normalize"](x.copy()), x, "reshape_and_normalize(5 images)")


def test_reshape_and_normalize_any_count(ns):
    rng = np.random.default_rng(33)
    for count in (1, 7, 60):
        x = images(rng, count)
        reshaped_ok(ns["reshape_and_normalize"](x.copy()), x, f"reshape_and_normalize({count} images)")


def test_reshape_and_normalize_new_array(ns):
    x = images(np.random.default_rng(34), 4)
    original = x.copy()
    result = ns["reshape_and_normalize"](x)
    assert isinstance(result, np.ndarray), "not a numpy array"
    assert x.shape == original.shape and x.dtype == original.dtype and np.array_equal(x, original), \
        "the argument was changed"
    assert not np.shares_memory(result, x), "the result shares memory with the argument"


# ----------------------------------------------------------------------------- build_cnn


def model(ns):
    """build_cnn() called once per notebook run (as the grader observes it once)."""
    if "model" not in _MODEL:
        _MODEL["model"] = ns["build_cnn"]()
    return _MODEL["model"]


def _activation(layer):
    kind = type(layer).__name__
    config = layer.get_config()
    if kind in ACTIVATION_LAYERS:
        return ACTIVATION_LAYERS[kind] or str(config.get("activation"))
    act = config.get("activation")
    if act is None:
        return None
    return act if isinstance(act, str) else getattr(act, "__name__", str(act))


def rows(m):
    """(kind, output shape, params, activation, config) per layer; activation layers folded."""
    out = []
    for layer in m.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        act = _activation(layer)
        if kind in ACTIVATION_LAYERS and out and out[-1][3] == "linear":
            out[-1] = out[-1][:3] + (act,) + out[-1][4:]
            continue
        config = layer.get_config()
        settings = {}
        for key in ("filters", "kernel_size", "padding", "pool_size", "units"):
            if key in config:
                v = config[key]
                settings[key] = tuple(v) if isinstance(v, (list, tuple)) else ((v, v) if key in ("kernel_size", "pool_size") else v)
        kind = {"MaxPool2D": "MaxPooling2D"}.get(kind, kind)
        out.append((kind, tuple(layer.output.shape)[1:], int(layer.count_params()), act, settings))
    return out


def test_build_cnn_layers(ns):
    m = model(ns)
    assert tuple(m.input_shape)[1:] == (28, 28, 1), f"input shape {m.input_shape}"
    found = rows(m)
    assert [r[0] for r in found] == [e[0] for e in EXPECTED], f"layers {[r[0] for r in found]}"
    for (kind, shape, params, _, settings), (_, eshape, eparams, _, esettings) in zip(found, EXPECTED, strict=False):
        assert shape == eshape, f"{kind}: output shape {shape}, expected {eshape}"
        assert params == eparams, f"{kind}: {params} parameters, expected {eparams}"
        for key, value in esettings.items():
            assert settings.get(key) == value, f"{kind}: {key}={settings.get(key)}, expected {value}"


def test_build_cnn_activations(ns):
    found = [r for r in rows(model(ns)) if r[0] in ("Conv2D", "Dense")]
    assert found, "no Conv2D or Dense layer"
    for row in found[:-1]:
        assert row[3] == "relu", f"{row[0]}: activation {row[3]}, expected relu"
    assert found[-1][3] == "softmax", f"output activation {found[-1][3]}, expected softmax"


def _has_strings(value):
    if isinstance(value, str):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_strings(v) for v in value)
    if isinstance(value, dict):
        return any(_has_strings(v) for v in value.values())
    return False


def test_build_cnn_compile(ns):
    m = model(ns)
    config = m.get_compile_config() if getattr(m, "compiled", False) else None
    assert config, "the model is not compiled"
    opt = config.get("optimizer")
    opt_name = opt if isinstance(opt, str) else (opt or {}).get("class_name", "")
    assert str(opt_name).lower() == "adam", f"optimizer {opt_name}, expected adam"
    loss, from_logits = config.get("loss"), False
    if isinstance(loss, dict):
        inner = loss.get("config")
        from_logits = isinstance(inner, dict) and bool(inner.get("from_logits", False))
        loss = inner if isinstance(inner, str) else loss.get("class_name")
    assert str(loss).replace("_", "").lower() == "sparsecategoricalcrossentropy", f"loss {loss}"
    output = [r for r in rows(m) if r[0] in ("Conv2D", "Dense")]
    activation = output[-1][3] if output else None
    if activation in ("linear", None):
        assert from_logits, "logits output into a loss that expects probabilities"
    else:
        assert not (from_logits and activation in ("softmax", "sigmoid")), "from_logits=True after softmax"
    assert not _has_strings(config.get("loss_weights")), "metrics passed as loss_weights (Keras 2 compile)"
    ok = False
    for metric in config.get("metrics") or []:
        if metric == "accuracy":
            ok = True
        elif isinstance(metric, dict) and metric.get("class_name") in ("SparseCategoricalAccuracy",
                                                                       "CategoricalAccuracy"):
            ok = True
    assert ok, f"metrics {config.get('metrics')}, expected accuracy"


def test_build_cnn_trains(ns):
    import keras
    import tensorflow as tf

    from grader.datasets import load_fashion_mnist

    m = model(ns)
    config = m.get_compile_config() if getattr(m, "compiled", False) else None
    assert config, "the model is not compiled"
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001
        pass
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    index = np.sort(np.random.default_rng(SEED).permutation(len(x_train))[:BUDGET["train_samples"]])
    x = (np.asarray(x_train[index], dtype=np.float32) / 255.0)[..., None]
    y = np.asarray(y_train[index], dtype=np.int64)
    keras.utils.set_random_seed(SEED)
    copy = keras.models.clone_model(m)
    copy.compile_from_config(config)
    copy.fit(x, y, epochs=BUDGET["epochs"], batch_size=BUDGET["batch_size"], shuffle=True, verbose=0)
    probs = np.asarray(copy.predict((np.asarray(x_test, dtype=np.float32) / 255.0)[..., None], batch_size=1000, verbose=0))
    accuracy = float(np.mean(np.argmax(probs, axis=1) == np.asarray(y_test)))
    assert accuracy >= BUDGET["test_accuracy"], f"test accuracy {accuracy:.3f} < {BUDGET['test_accuracy']}"
