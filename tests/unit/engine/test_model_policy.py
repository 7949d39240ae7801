"""grader.engine.model_policy: the allow-list, the compile-config cleaning and the size
estimate of a student's model, on real Keras 3 configs and on hostile hand-made ones."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.engine import model_policy as mp
from grader.engine.model_policy import PolicyError

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
L = keras.layers

NAME = "build_model"


def config_of(model) -> dict:
    return json.loads(model.to_json())


def accepted(model) -> dict:
    cfg = mp.keras_spellings(config_of(model))
    mp.check_config(cfg, NAME, model=True)
    return cfg


def refused(config, *fragments: str) -> str:
    with pytest.raises(PolicyError) as info:
        mp.check_config(config, NAME)
    message = str(info.value)
    assert message.startswith(f"the model returned by {NAME} ")
    for fragment in fragments:
        assert fragment in message, message
    return message


# ------------------------------------------------------------------------------- real models
def exercise_models() -> dict:
    """The models of the four exercises (solutions/*/make_notebook.py) and their lessons."""
    mnist = lambda *layers: keras.Sequential([keras.Input(shape=(28, 28)), L.Flatten(), *layers])  # noqa: E731
    return {
        "01 logistic": mnist(L.Dense(10, activation="softmax")),
        "01 dense": mnist(L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")),
        "01 conv": keras.Sequential([keras.Input(shape=(28, 28, 1)), L.Conv2D(8, 5, activation="relu"), L.Flatten(),
                                     L.Dense(10, activation="softmax")]),
        "01 two_conv": keras.Sequential([keras.Input(shape=(28, 28, 1)), L.Conv2D(8, 5), L.Conv2D(16, 5)]),
        "02 callback tiny": keras.Sequential([keras.Input(shape=(2,)), L.Dense(1)]),
        "02 train_mnist": mnist(L.Dense(512, activation="relu"), L.Dense(10, activation="softmax")),
        "03 build_cnn": keras.Sequential([
            keras.Input(shape=(28, 28, 1)), L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
            L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
            L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")]),
    }


def other_models() -> dict:
    inp = keras.Input(shape=(28, 28, 1), name="img")
    x = L.Conv2D(8, 3, padding="same", strides=2)(inp)
    y = L.Conv2D(8, 3, padding="same", strides=2, activation=tf.nn.leaky_relu)(inp)
    z = L.Concatenate()([L.Add()([x, y]), x])
    z = L.ReLU()(L.BatchNormalization()(z))
    z = L.SeparableConv2D(16, 3, depth_multiplier=2)(z)
    z = L.DepthwiseConv2D(3, padding="same")(z)
    z = L.Conv2DTranspose(4, 3, strides=2)(z)
    z = L.UpSampling2D(2)(L.Cropping2D(1)(L.ZeroPadding2D(((1, 2), (3, 4)))(z)))
    z = L.GlobalAveragePooling2D()(L.AveragePooling2D(3, strides=2, padding="same")(L.LayerNormalization()(z)))
    inner = keras.Sequential([L.Dense(4, activation=tf.math.tanh), L.Dense(3, activation=tf.keras.activations.relu)])
    functional = keras.Model(inp, L.Dense(2, activation=tf.nn.sigmoid)(inner(z)))
    return {
        "functional (merge, nested Sequential)": functional,
        "rnn": keras.Sequential([keras.Input((10,), dtype="int32"), L.Embedding(100, 8), L.LSTM(4, return_sequences=True),
                                 L.GRU(5, return_sequences=True), L.Bidirectional(L.SimpleRNN(3)), L.Dense(1)]),
        "normalization": keras.Sequential([keras.Input((2,)), L.Normalization(), L.Normalization(mean=[1., 2.], variance=[1., 1.]),
                                           L.Rescaling(1 / 255.), L.PReLU(), L.Dropout(0.5), L.Dense(1)]),
        "conv1d": keras.Sequential([keras.Input((100, 3)), L.Conv1D(8, 5, dilation_rate=2, padding="causal"), L.MaxPooling1D(),
                                    L.Conv1D(8, 3, groups=2), L.GlobalMaxPooling1D(), L.Dense(3)]),
        "reshape": keras.Sequential([keras.Input((784,)), L.Reshape((28, 28, 1)), L.Conv2D(4, (3, 5), strides=(2, 1), use_bias=False),
                                     L.Reshape((-1, 4)), L.Permute((2, 1)), L.Flatten(), L.RepeatVector(2), L.Flatten(), L.Dense(3)]),
        "channels_first": keras.Sequential([keras.Input((3, 32, 32)), L.Conv2D(6, 3, data_format="channels_first"),
                                            L.MaxPooling2D(data_format="channels_first"), L.Flatten(data_format="channels_first"),
                                            L.Dense(4)]),
        "augmentation": keras.Sequential([keras.Input((32, 32, 3)), L.RandomFlip(), L.RandomRotation(0.1), L.RandomZoom(0.1),
                                          L.Resizing(24, 24), L.Conv2D(4, 3, dilation_rate=2), L.GlobalMaxPooling2D(),
                                          L.Dense(2, activation=tf.nn.softmax)]),
    }


ALL_MODELS = {**exercise_models(), **other_models()}


@pytest.mark.parametrize("label", list(ALL_MODELS))
def test_real_models_are_accepted_and_counted_exactly(label):
    model = ALL_MODELS[label]
    cfg = accepted(model)
    cost = mp.estimate_cost(cfg)
    assert not cost.partial, cost.unknown
    assert cost.params == model.count_params()
    assert cost.flops_per_example > 0
    mp.check_budget(cost, 5_000_000, 10**9, NAME)


def test_the_03_cnn_cost_is_what_the_notebook_says():
    cost = mp.estimate_cost(accepted(exercise_models()["03 build_cnn"]))
    assert cost.params == 243_786
    assert [layer.output_shape for layer in cost.layers] == [
        (26, 26, 64), (13, 13, 64), (11, 11, 64), (5, 5, 64), (1600,), (128,), (10,)]
    # 2 x multiply-adds of the two convolutions and the two Dense layers, plus pooling/flatten
    assert cost.flops_per_example >= 2 * (26 * 26 * 64 * 9 + 11 * 11 * 64 * 9 * 64 + 1600 * 128 + 128 * 10)


def test_a_sequential_without_input_needs_a_shape():
    model = keras.Sequential([L.Dense(4), L.Dense(2)])  # never built: no weights, no shape
    cfg = accepted(model)
    cost = mp.estimate_cost(cfg)
    assert cost.partial and cost.params == 0
    with pytest.raises(PolicyError, match="cannot work out"):
        mp.check_budget(cost, 10**6, None, NAME)
    assert mp.estimate_cost(cfg, input_shape=(784,)).params == 784 * 4 + 4 + 4 * 2 + 2
    model.build((None, 784))
    cost = mp.estimate_cost(accepted(model))
    assert not cost.partial and cost.params == model.count_params()


def test_compiled_models_string_and_object_settings():
    model = exercise_models()["03 build_cnn"]
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 100, 0.9)
    settings = [
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        dict(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
             metrics=["accuracy", keras.metrics.SparseCategoricalAccuracy(), keras.metrics.sparse_categorical_accuracy],
             run_eagerly=True, jit_compile=False, steps_per_execution=3),
        dict(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01]), momentum=0.9),
             loss=tf.keras.losses.sparse_categorical_crossentropy, metrics=[keras.metrics.AUC()], loss_weights=[1.0]),
    ]
    for kwargs in settings:
        model.compile(**kwargs)
        compile_config = json.loads(json.dumps(model.get_compile_config()))
        clean = mp.clean_compile_config(compile_config, NAME)
        assert set(clean) <= {"optimizer", "loss", "metrics", "weighted_metrics", "loss_weights"}
        assert "run_eagerly" not in clean and "jit_compile" not in clean and "steps_per_execution" not in clean
        # the config embeds the same compile settings; model_from_json would apply them
        cfg = accepted(model)
        assert cfg["compile_config"]["run_eagerly"] == bool(kwargs.get("run_eagerly", False))
        stripped = mp.clean_model_config(cfg)
        assert "compile_config" not in stripped and "compile_config" in cfg  # a copy
        rebuilt = keras.models.model_from_json(json.dumps(stripped))
        assert not rebuilt.compiled
        rebuilt.compile_from_config(clean)
        assert rebuilt.run_eagerly is False
        assert rebuilt.count_params() == model.count_params()


def test_nested_compile_configs_are_removed_too():
    inner = keras.Sequential([keras.Input((4,)), L.Dense(3)])
    inner.compile(optimizer="adam", loss="mse", run_eagerly=True)
    outer = keras.Sequential([keras.Input((4,)), inner, L.Dense(1)])
    cfg = accepted(outer)
    assert "compile_config" in json.dumps(cfg)
    assert "compile_config" not in json.dumps(mp.clean_model_config(cfg))
    assert mp.estimate_cost(cfg).params == outer.count_params()


def test_compile_settings_unknown_fields_and_custom_parts():
    clean = mp.clean_compile_config({"optimizer": "adam", "loss": "mse", "run_eagerly": True, "auto_scale_loss": True,
                                     "whatever": {"module": "os", "class_name": "system"}})
    assert clean == {"optimizer": "adam", "loss": "mse"}
    with pytest.raises(PolicyError, match="custom function"):
        mp.clean_compile_config({"loss": {"module": "__main__", "class_name": "function", "config": "my_loss",
                                          "registered_name": "function"}}, NAME)
    with pytest.raises(PolicyError, match="keras.visualization"):
        mp.clean_compile_config({"metrics": [{"module": "keras.visualization", "class_name": "plot_image_gallery",
                                              "config": {}, "registered_name": None}]}, NAME)
    with pytest.raises(PolicyError, match="not numbers"):
        mp.clean_compile_config({"loss_weights": ["1"]}, NAME)
    with pytest.raises(PolicyError):
        mp.clean_compile_config("adam", NAME)


# ------------------------------------------------------------------------- TensorFlow spellings
def test_tf_activations_serialize_as_keras_names_or_are_mapped():
    seen = {fn: L.Dense(2, activation=getattr_path(fn)).get_config()["activation"]
            for fn in ("tf.nn.relu", "tf.nn.sigmoid", "tf.nn.softmax", "tf.keras.activations.relu", "tf.nn.leaky_relu",
                       "tf.math.tanh", "tf.nn.log_softmax", "tf.nn.swish", "tf.math.exp")}
    assert seen["tf.nn.relu"] == "relu" and seen["tf.nn.sigmoid"] == "sigmoid"
    assert seen["tf.keras.activations.relu"] == "relu" and seen["tf.nn.leaky_relu"] == "leaky_relu"
    assert seen["tf.math.tanh"] == "tanh"
    assert seen["tf.nn.softmax"]["config"] == "softmax_v2" and seen["tf.nn.log_softmax"]["config"] == "log_softmax_v2"
    assert mp.keras_spellings(seen["tf.nn.softmax"]) == "softmax"
    assert mp.keras_spellings(seen["tf.nn.log_softmax"]) == "log_softmax"
    mp.check_config(seen["tf.nn.swish"], NAME)  # "swish" is a Keras function
    refused(seen["tf.nn.softmax"], "softmax_v2")  # unmapped, Keras itself cannot resolve it
    refused(mp.keras_spellings(seen["tf.math.exp"]), "'exp'")


def getattr_path(path: str):
    obj = {"tf": tf, "keras": keras}[path.split(".")[0]]
    for part in path.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def test_tf_relu_softmax_model_is_accepted_and_rebuilds():
    model = keras.Sequential([keras.Input((28, 28)), L.Flatten(), L.Dense(16, activation=tf.nn.relu),
                              L.Dense(10, activation=tf.nn.softmax)])
    model.compile(optimizer="adam", loss=tf.keras.losses.sparse_categorical_crossentropy,
                  metrics=[tf.keras.metrics.sparse_categorical_accuracy])
    raw = config_of(model)
    with pytest.raises(PolicyError):
        mp.check_config(raw, NAME)  # softmax_v2 before mapping
    cfg = accepted(model)
    rebuilt = keras.models.model_from_json(json.dumps(mp.clean_model_config(cfg)))
    assert rebuilt.layers[-1].get_config()["activation"] == "softmax"
    rebuilt.compile_from_config(mp.clean_compile_config(json.loads(json.dumps(model.get_compile_config())), NAME))
    assert mp.estimate_cost(cfg).params == model.count_params()


# ---------------------------------------------------------------------------- hostile configs
def cnn_config() -> dict:
    return accepted(exercise_models()["03 build_cnn"])


def test_module_less_layer_node_is_refused():
    cfg = cnn_config()
    node = cfg["config"]["layers"][2]
    del node["module"]
    refused(cfg, "MaxPooling2D", "without naming its Keras module")
    cfg["config"]["layers"][2] = {"class_name": "plot_image_gallery", "config": {"images": [[0]], "path": "/tmp/x.png"}}
    refused(cfg, "plot_image_gallery", "without naming its Keras module")


def test_public_keras_function_named_as_a_class_is_refused():
    for module, cls in (("keras.visualization", "plot_image_gallery"), ("keras.utils", "get_file"),
                        ("keras.activations", "relu"), ("keras.saving", "load_model"), ("keras", "layers"),
                        ("keras.src.layers.core.dense", "Dense"), ("keras.layers", "Layer"), ("keras.layers", "Convolution2D")):
        cfg = cnn_config()
        cfg["config"]["layers"].insert(1, {"module": module, "class_name": cls, "config": {}, "registered_name": None})
        refused(cfg, cls, repr(module))
    cfg = cnn_config()
    cfg["config"]["layers"][1] = {"module": "os", "class_name": "system", "config": {}}
    refused(cfg, "'os'", "only built-in Keras layers can be graded")


def test_lambda_with_a_serialized_function_is_refused():
    model = keras.Sequential([keras.Input((4,)), L.Lambda(lambda x: x * 2), L.Dense(1)])
    cfg = config_of(model)
    assert "__lambda__" in json.dumps(cfg)
    refused(cfg, "Lambda")
    lam = next(layer for layer in cfg["config"]["layers"] if layer["class_name"] == "Lambda")
    refused(lam["config"]["function"], "__lambda__")
    refused({"module": "keras.layers", "class_name": "TFSMLayer", "config": {"filepath": "/"}}, "TFSMLayer")


def test_registered_name_mismatch_and_custom_objects_are_refused():
    cfg = cnn_config()
    cfg["config"]["layers"][-1]["registered_name"] = "Custom>Dense"
    refused(cfg, "registered as 'Custom>Dense'")
    cfg = cnn_config()
    cfg["config"]["layers"][-1]["config"]["activation"] = {
        "module": "builtins", "class_name": "function", "config": "my_act", "registered_name": "Custom>my_act"}
    refused(cfg, "custom function")
    for fn in ("get", "deserialize", "serialize", "l2", "exp", "__import__", "eval"):
        refused({"module": "builtins", "class_name": "function", "config": fn, "registered_name": "function"}, repr(fn))
    refused({"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "function"},
            "custom function")
    refused({"class_name": "__typespec__", "config": [], "spec_name": "X", "module": None}, "__typespec__")
    refused({"class_name": "__numpy__", "config": {"value": [1], "dtype": "object"}}, "'object'")
    refused({"module": "keras", "class_name": "QuantizedDTypePolicy", "config": {}}, "QuantizedDTypePolicy")


def test_structural_nodes_of_keras_are_accepted():
    mp.check_config({"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "dtype": "float32",
                                                                   "keras_history": ["x", 0, 0]}}, NAME)
    mp.check_config({"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}, NAME)
    mp.check_config({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"},
                     "registered_name": None}, NAME)


def test_top_node_must_be_a_model():
    with pytest.raises(PolicyError, match="not a Keras Sequential"):
        mp.check_config({"module": "keras.layers", "class_name": "Dense", "config": {"units": 1}}, NAME, model=True)


def test_deep_nesting_is_refused_quickly():
    deep: list = []
    node = deep
    for _ in range(100_000):
        node.append([])
        node = node[0]
    started = time.perf_counter()
    refused({"module": "keras", "class_name": "Sequential", "config": {"layers": deep}}, "levels deep")
    assert time.perf_counter() - started < 1.0


def test_a_million_nodes_are_refused_quickly():
    cfg = cnn_config()
    cfg["config"]["layers"][-1]["config"]["junk"] = list(range(1_000_000))
    started = time.perf_counter()
    refused(cfg, "more than 100,000 values")
    seconds = time.perf_counter() - started
    assert seconds < 5.0, seconds  # ~0.2 s at rest: refused at the node budget, not after walking 10**6 nodes
    long_name = cnn_config()
    long_name["config"]["layers"][-1]["config"]["name"] = "x" * 1_000_000
    refused(long_name, "1,000,000 characters")


# ------------------------------------------------------------------------------- the budget
def huge_dense_config(units: int = 400_000) -> dict:
    """Conv2D -> Flatten -> Dense(units), written by hand (Keras would allocate it)."""
    cfg = accepted(exercise_models()["01 conv"])
    dense = cfg["config"]["layers"][-1]
    dense["config"]["units"] = units
    dense["build_config"]["input_shape"] = [None, 24 * 24 * 8]
    return cfg


def test_dense_400000_after_flatten_is_measured_in_milliseconds_without_keras():
    cfg = huge_dense_config()
    started = time.perf_counter()
    cost = mp.estimate_cost(cfg)
    seconds = time.perf_counter() - started
    assert seconds < 0.05, seconds
    assert cost.params == 8 * 26 + 24 * 24 * 8 * 400_000 + 400_000 and cost.params > 10**9
    with pytest.raises(PolicyError) as info:
        mp.check_budget(cost, 5_000_000, None, NAME)
    assert str(info.value) == (f"the model returned by {NAME} has {cost.params:,} parameters; "
                               "this exercise allows at most 5,000,000")
    assert "1,843,600,208 parameters" in str(info.value)


def test_estimate_imports_neither_keras_nor_tensorflow(tmp_path: Path):
    (tmp_path / "config.json").write_text(json.dumps(huge_dense_config()))
    source = Path(mp.__file__).read_text("utf-8")
    script = textwrap.dedent(f"""
        import json, sys, time, types
        module = types.ModuleType("model_policy"); sys.modules["model_policy"] = module
        exec(compile({source!r}, "model_policy.py", "exec"), module.__dict__)
        cfg = json.load(open({str(tmp_path / "config.json")!r}))
        module.check_config(cfg, "build_model", model=True)
        started = time.perf_counter(); cost = module.estimate_cost(cfg); seconds = time.perf_counter() - started
        peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
        print(json.dumps({{"params": cost.params, "seconds": seconds,
                          "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "numpy")),
                          "max_rss_kib": int(peak[0]) if peak else 0}}))
    """)
    result = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert result["heavy"] == [] and result["params"] > 10**9
    assert result["max_rss_kib"] < 200_000  # peak resident memory; 1.8e9 float32 weights would be 7 GiB
    assert result["seconds"] < 0.05


def test_a_layer_build_config_larger_than_its_input_counts():
    cfg = accepted(exercise_models()["01 logistic"])
    dense = cfg["config"]["layers"][-1]
    dense["build_config"]["input_shape"] = [None, 10**8]  # Keras builds the kernel from this
    cost = mp.estimate_cost(cfg)
    assert cost.params == 10**8 * 10 + 10
    with pytest.raises(PolicyError, match="1,000,000,010 parameters"):
        mp.check_budget(cost, 5_000_000, None, NAME)


def test_three_wide_convolutions_exceed_a_flop_budget():
    model = keras.Sequential([keras.Input((28, 28, 1))] + [L.Conv2D(512, 3, padding="same") for _ in range(3)]
                             + [L.GlobalAveragePooling2D(), L.Dense(10)])
    cost = mp.estimate_cost(accepted(model))
    assert cost.params == model.count_params()
    assert cost.flops_per_example > 2 * 2 * 28 * 28 * 512 * 512 * 9  # two 512 -> 512 convolutions
    cnn = mp.estimate_cost(cnn_config())
    mp.check_budget(cnn, 5_000_000, 50_000_000, NAME)
    with pytest.raises(PolicyError, match="operations per example; this exercise allows at most 50,000,000"):
        mp.check_budget(cost, 5_000_000, 50_000_000, NAME)


def test_malformed_sizes_make_the_estimate_partial_and_are_refused():
    for bad in (-5, "400000", True, 2.5, None, [10]):
        cfg = cnn_config()
        cfg["config"]["layers"][-1]["config"]["units"] = bad
        cost = mp.estimate_cost(cfg)
        assert cost.partial, bad
        with pytest.raises(PolicyError, match="cannot work out"):
            mp.check_budget(cost, None, None, NAME)


def test_other_exception_class():
    class Failed(AssertionError):
        pass

    with pytest.raises(Failed):
        mp.check_config({"module": "os", "class_name": "system", "config": {}}, NAME, error=Failed)
    with pytest.raises(Failed):
        mp.check_budget(mp.Cost(10, 10), 1, None, NAME, error=Failed)


# --------------------------------------------------------------- the lists against Keras itself
def test_allowed_classes_exist_under_their_module_and_name():
    from keras.src.api_export import get_symbol_from_name

    module_of = {kind: [m for m, kinds in mp.ALLOWED_MODULES.items() if kind in kinds][0]
                 for kind in mp.ALLOWED if kind != "models"}
    for kind, names in mp.ALLOWED.items():
        for cls in names:
            if kind == "models":
                continue
            obj = get_symbol_from_name(f"{module_of[kind]}.{cls}")
            assert isinstance(obj, type) and obj.__name__ == cls, (kind, cls, obj)
    assert get_symbol_from_name("keras.Sequential").__name__ == "Sequential"
    assert not ({"Lambda", "TFSMLayer", "TextVectorization", "StringLookup", "Layer"} & mp.ALLOWED["layers"])


def test_allowed_functions_resolve_to_keras_functions_only():
    import types

    from keras.src.saving.serialization_lib import BUILTIN_MODULES

    for fn in mp.FUNCTIONS:
        found = [getattr(getattr(keras, mod), fn, None) for mod in ("activations", "losses", "metrics")]
        assert any(isinstance(f, types.FunctionType) for f in found), fn
        for mod in BUILTIN_MODULES:  # Keras searches these, in no fixed order
            obj = getattr(getattr(keras, mod), fn, None)
            assert obj is None or (isinstance(obj, types.FunctionType) and mod in ("activations", "losses", "metrics")), (fn, mod)
        mp.check_config({"module": "builtins", "class_name": "function", "config": fn, "registered_name": "function"}, NAME)


def test_every_allowed_layer_has_a_size_rule():
    assert mp.ALLOWED["layers"] - set(mp._RULES) == {"InputLayer"}


def test_check_config_leaves_its_input_alone():
    cfg = cnn_config()
    before = copy.deepcopy(cfg)
    mp.check_config(cfg, NAME)
    mp.estimate_cost(cfg)
    mp.clean_model_config(cfg)
    assert cfg == before
