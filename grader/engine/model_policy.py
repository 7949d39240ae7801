"""What a student's Keras model may be, read from its JSON config alone (trusted side).

The worker sends a model as ``model.to_json()`` + weights + ``get_compile_config()``; the
trusted side rebuilds it with ``keras.models.model_from_json`` (safe mode). Safe mode only
refuses ``__lambda__``: Keras still resolves any ``module``/``class_name`` pair it can import,
turns a layer node without ``module`` into a legacy deserialization (which wraps a public
Keras *function* named as a class in a ``Lambda``), applies the ``compile_config`` it finds
inside a model node (``run_eagerly`` included), and builds every layer from its
``build_config`` (allocating the weights). So, before any of that:

* :func:`check_config` accepts only an allow-list (:data:`ALLOWED`) of built-in classes, by
  module, plus Keras' function-by-name nodes for :data:`FUNCTIONS` and the structural nodes of
  :data:`STRUCTURAL`; everything else is refused, walked iteratively within node, depth and
  string budgets.
* :func:`clean_model_config` drops every ``compile_config`` nested in the model config, and
  :func:`clean_compile_config` rebuilds the compile settings from allow-listed fields.
* :func:`estimate_cost` infers shapes from the config (no Keras, no TensorFlow, no weights)
  and :func:`check_budget` refuses a model over the exercise's parameter/FLOP budget, or
  one whose size cannot be worked out.

Everything here is pure functions on plain JSON data; nothing imports Keras.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PolicyError", "ALLOWED", "ALLOWED_MODULES", "FUNCTIONS", "STRUCTURAL", "TF_EQUIVALENTS",
    "keras_spellings", "check_config", "clean_model_config", "clean_compile_config",
    "Cost", "LayerCost", "estimate_cost", "check_budget",
]


class PolicyError(ValueError):
    """A config the grader refuses; the message is for the student."""


# --------------------------------------------------------------------------------- allow-lists
# Canonical class names as Keras 3 writes them (``obj.__class__.__name__``): aliases such as
# Convolution2D, MaxPool2D or glorot_uniform never appear in a config Keras wrote, so they
# are not accepted either. Left out on purpose: Lambda and TFSMLayer (code / a SavedModel on
# disk), TextVectorization, StringLookup, IntegerLookup (a vocabulary may be a *file path*
# read on the trusted side), JaxLayer/FlaxLayer/TorchModuleWrapper (foreign code), generic
# RNN/cells/Wrapper/TimeDistributed/Pipeline (arbitrary nested cells), attention layers and
# quantized dtype policies (not taught; add with a cost rule when a course needs them), and
# every ``keras.ops`` operation (a functional model built with ``x + y`` instead of Add()).
ALLOWED: dict[str, frozenset[str]] = {
    "layers": frozenset({
        "InputLayer", "Dense", "Activation", "Embedding", "Masking", "Identity",
        "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
        "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
        "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
        "Flatten", "Reshape", "Permute", "RepeatVector",
        "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D",
        "UpSampling1D", "UpSampling2D", "UpSampling3D",
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
        "GaussianDropout", "AlphaDropout", "ActivityRegularization",
        "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
        "ReLU", "Softmax", "LeakyReLU", "PReLU", "ELU",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
        "SimpleRNN", "LSTM", "GRU", "Bidirectional",
        "Rescaling", "Normalization", "Resizing", "CenterCrop", "RandomFlip", "RandomRotation",
        "RandomZoom", "RandomTranslation", "RandomContrast", "RandomCrop", "RandomBrightness",
    }),
    "models": frozenset({"Sequential", "Functional", "Model"}),
    "optimizers": frozenset({"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                             "Nadam", "Ftrl", "Lion"}),
    "schedules": frozenset({"ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
                            "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts"}),
    # keras.losses classes, less the bases Loss and LossFunctionWrapper (it holds a function)
    "losses": frozenset({
        "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
        "CategoricalFocalCrossentropy", "CategoricalHinge", "CosineSimilarity", "Dice", "Hinge",
        "Huber", "KLDivergence", "LogCosh", "MeanAbsoluteError", "MeanAbsolutePercentageError",
        "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy",
        "SquaredHinge", "Tversky",
    }),
    # keras.metrics classes, less the bases Metric and MeanMetricWrapper (it holds a function)
    "metrics": frozenset({
        "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU", "CategoricalAccuracy",
        "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity", "F1Score", "FBetaScore",
        "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError", "Mean",
        "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanIoU", "MeanSquaredError",
        "MeanSquaredLogarithmicError", "OneHotIoU", "OneHotMeanIoU", "Poisson", "Precision",
        "PrecisionAtRecall", "R2Score", "Recall", "RecallAtPrecision", "RootMeanSquaredError",
        "SensitivityAtSpecificity", "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
        "SparseTopKCategoricalAccuracy", "SpecificityAtSensitivity", "SquaredHinge", "Sum",
        "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives",
    }),
    "initializers": frozenset({
        "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
        "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
        "TruncatedNormal", "VarianceScaling", "Zeros",
    }),
    "regularizers": frozenset({"L1", "L2", "L1L2", "OrthogonalRegularizer"}),
    "constraints": frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"}),
    "dtype_policies": frozenset({"DTypePolicy", "FloatDTypePolicy"}),
}

# module -> kinds whose classes Keras resolves there (``api_export`` name ``module.class``;
# Functional is written with its source module, Sequential with ``keras``)
ALLOWED_MODULES: dict[str, tuple[str, ...]] = {
    "keras.layers": ("layers",),
    "keras": ("dtype_policies",),
    "keras.dtype_policies": ("dtype_policies",),
    "keras.optimizers": ("optimizers",),
    "keras.optimizers.schedules": ("schedules",),
    "keras.losses": ("losses",),
    "keras.metrics": ("metrics",),
    "keras.initializers": ("initializers",),
    "keras.regularizers": ("regularizers",),
    "keras.constraints": ("constraints",),
}
_MODEL_MODULES = {"Sequential": {"keras", "keras.models"}, "Model": {"keras", "keras.models"},
                  "Functional": {"keras.src.models.functional"}}

# Public *functions* of keras.activations, keras.losses and keras.metrics that Keras writes as
# {"module": "builtins", "class_name": "function", "config": NAME}. Keras resolves such a name
# by searching keras.{activations, constraints, initializers, losses, metrics, optimizers,
# regularizers}; the unit test checks every name here resolves, in each of those modules, to
# nothing or to a function of activations/losses/metrics (so get/serialize/deserialize and the
# class aliases such as ``l2`` are excluded). A static list: the policy does not change with
# whatever the installed Keras happens to export.
FUNCTIONS: frozenset[str] = frozenset({
    # keras.activations
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu",
    "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
    # keras.losses
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_generalized_cross_entropy", "categorical_hinge",
    "circle", "cosine_similarity", "ctc", "dice", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy", "squared_hinge",
    "tversky",
    # keras.metrics (the functions not already listed)
    "binary_accuracy", "categorical_accuracy", "concordance_correlation", "pearson_correlation",
    "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy",
})

# TensorFlow's own spellings of Keras functions, as Keras 3 serializes them (a function that
# is not Keras' becomes {"module": "builtins", "class_name": "function", "config": NAME}).
# Checked with Keras 3.15 / TF 2.21: tf.nn.relu, tf.nn.sigmoid, tf.math.sigmoid, tf.nn.tanh,
# tf.math.tanh, tf.nn.leaky_relu, tf.nn.elu, tf.nn.selu, tf.nn.gelu, tf.nn.relu6,
# tf.nn.softplus, tf.nn.softsign and tf.keras.activations.* already serialize as the Keras
# name ("relu", ...); tf.nn.swish/silu as the function node "swish", a Keras function (in
# FUNCTIONS). These two do not, and compute exactly what the Keras function computes (same
# default axis -1); tf.math.exp ("exp") and the like have no Keras equivalent and stay refused.
TF_EQUIVALENTS: dict[str, str] = {
    "softmax_v2": "softmax",  # tf.nn.softmax, tf.math.softmax
    "log_softmax_v2": "log_softmax",  # tf.nn.log_softmax, tf.math.log_softmax
}

# Module-less nodes Keras 3 itself writes/reads (serialization_lib special cases) that build
# no object from a name: __keras_tensor__ (a functional model's inbound_nodes), __tensor__ /
# __numpy__ (constant values). Refused: __lambda__ (code), __typespec__ (resolves a class by
# spec_name/module), __bytes__/__ellipsis__/__slice__ (only keras.ops arguments, refused).
STRUCTURAL: dict[str, frozenset[str]] = {
    "__keras_tensor__": frozenset({"shape", "dtype", "keras_history"}),
    "__tensor__": frozenset({"value", "dtype"}),
    "__numpy__": frozenset({"value", "dtype"}),
}
_NUMERIC_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32",
                             "int64", "uint8", "uint16", "uint32", "uint64", "bool"})
_NODE_KEYS = frozenset({"module", "class_name", "config", "registered_name", "build_config",
                        "compile_config", "name", "inbound_nodes", "shared_object_id"})

MAX_NODES = 100_000  # dicts, lists and scalars together; a big course model has < 5,000
MAX_DEPTH = 64  # a functional model nested in a Sequential is ~ 15 deep
MAX_STRING = 10_000  # characters in one key or string value


def _what(name: str) -> str:
    return f"the model returned by {name}"


def _refuse(error: type[Exception], name: str, detail: str) -> Exception:
    return error(f"{_what(name)} {detail}")


# ------------------------------------------------------------------------------ check_config
def keras_spellings(config: Any) -> Any:
    """A copy of ``config`` with every TensorFlow function of :data:`TF_EQUIVALENTS` replaced
    by the Keras name (``activation=tf.nn.softmax`` reads as ``activation="softmax"``), nothing
    else changed. Iterative; run it before :func:`check_config` (which refuses ``softmax_v2``)."""
    def mapped(value: Any) -> Any:
        if (isinstance(value, dict) and value.get("class_name") == "function" and value.get("module") == "builtins"
                and value.get("registered_name") in (None, "function") and isinstance(value.get("config"), str)
                and value["config"] in TF_EQUIVALENTS
                and set(value) <= {"module", "class_name", "config", "registered_name"}):
            return TF_EQUIVALENTS[value["config"]]
        return value

    root: list[Any] = [mapped(config)]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        value = parent[key]
        if isinstance(value, dict):
            copy = {k: mapped(v) for k, v in value.items()}
        elif isinstance(value, list):
            copy = [mapped(v) for v in value]
        else:
            continue
        parent[key] = copy
        stack.extend((copy, k) for k in (copy.keys() if isinstance(copy, dict) else range(len(copy))))
    return root[0]


def _kind_of(module: str, class_name: str) -> str | None:
    if class_name in _MODEL_MODULES:
        return "models" if module in _MODEL_MODULES[class_name] else None
    for kind in ALLOWED_MODULES.get(module, ()):
        if class_name in ALLOWED[kind]:
            return kind
    return None


def check_config(config: Any, name: str, *, error: type[Exception] = PolicyError, model: bool = False,
                 max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``error`` (a student-facing message) unless every object ``config`` names is an
    allow-listed built-in Keras class, a Keras function by name, or a structural node.

    ``name`` is the graded function (``build_model``); ``model=True`` also requires the top
    node to be a Sequential/Functional model. Walks iteratively within ``max_nodes`` values
    (dicts, lists and scalars) and ``max_depth`` nesting. Run :func:`keras_spellings` first."""
    if model and not (isinstance(config, dict) and _is_model_node(config)):
        raise _refuse(error, name, "is not a Keras Sequential or functional model")
    stack: list[tuple[Any, int]] = [(config, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise _refuse(error, name, f"has a config of more than {max_nodes:,} values: too large to be graded")
        if depth > max_depth:
            raise _refuse(error, name, f"has a config nested more than {max_depth} levels deep: too deep to be graded")
        if isinstance(node, str):
            if len(node) > MAX_STRING:
                raise _refuse(error, name, f"has a string of {len(node):,} characters in its config: too long to be graded")
            continue
        if isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
            continue
        if not isinstance(node, dict):
            if node is not None and not isinstance(node, (bool, int, float)):
                raise _refuse(error, name, f"has a {type(node).__name__} in its config: only JSON data can be graded")
            continue
        for key in node:
            if not isinstance(key, str) or len(key) > MAX_STRING:
                raise _refuse(error, name, "has a config with a key that is not a short string")
        if "class_name" in node:
            _check_node(node, name, error)
            if node["class_name"] == "function":
                continue  # its config is the function's name, checked above
        stack.extend((v, depth + 1) for v in node.values())


def _check_node(node: dict, name: str, error: type[Exception]) -> None:
    cls = node["class_name"]
    if not isinstance(cls, str) or not cls:
        raise _refuse(error, name, "has an object without a class name in its config")
    module = node.get("module")
    registered = node.get("registered_name")
    shown = cls if len(cls) <= 80 else cls[:77] + "..."
    if module is None:
        allowed_keys = STRUCTURAL.get(cls)
        inner = node.get("config")
        if allowed_keys is None or set(node) != {"class_name", "config"} or not isinstance(inner, dict) \
                or not set(inner) <= allowed_keys:
            raise _refuse(error, name, f"uses {shown} without naming its Keras module: only built-in Keras "
                                       "layers written by Keras 3 (model.to_json()) can be graded")
        if cls in ("__tensor__", "__numpy__") and inner.get("dtype") not in _NUMERIC_DTYPES:
            raise _refuse(error, name, f"has a constant of dtype {str(inner.get('dtype'))[:40]!r}: only numbers can be graded")
        return
    if not isinstance(module, str):
        raise _refuse(error, name, f"uses {shown} from an unreadable module")
    if cls == "function":
        fn = node.get("config")
        if module != "builtins" or registered not in (None, "function") or not isinstance(fn, str) \
                or not set(node) <= {"module", "class_name", "config", "registered_name"}:
            raise _refuse(error, name, f"uses a custom function ({str(registered or module)[:80]}): custom "
                                       "functions can't be graded; use Keras' own activations, losses and metrics")
        if fn not in FUNCTIONS:
            shown_fn = fn if len(fn) <= 80 else fn[:77] + "..."
            raise _refuse(error, name, f"uses the function {shown_fn!r}, which is not a Keras activation, loss or "
                                       "metric: custom functions can't be graded; use Keras' own (e.g. 'relu', "
                                       "'softmax', 'sparse_categorical_crossentropy')")
        return
    shown_module = module if len(module) <= 80 else module[:77] + "..."
    if not (module == "keras" or module.startswith("keras.")):
        raise _refuse(error, name, f"uses {shown} from {shown_module!r}: only built-in Keras layers can be graded")
    if registered is not None and registered != cls:
        raise _refuse(error, name, f"uses {shown} registered as {str(registered)[:80]!r}: custom layers, Lambda "
                                   "layers and custom functions can't be graded; use built-in Keras layers")
    if cls in ("Lambda", "TFSMLayer"):
        raise _refuse(error, name, f"uses a {cls} layer: custom layers, Lambda layers and custom functions "
                                   "can't be graded; use built-in Keras layers")
    if _kind_of(module, cls) is None:
        raise _refuse(error, name, f"uses {shown} from {shown_module!r}: only built-in Keras layers (and Keras' "
                                   "own optimizers, losses, metrics, initializers, regularizers and constraints) "
                                   "can be graded")


def _is_model_node(node: dict) -> bool:
    cls = node.get("class_name")
    return isinstance(cls, str) and cls in _MODEL_MODULES and node.get("module") in _MODEL_MODULES[cls]


# ----------------------------------------------------------------------- cleaning the configs
def clean_model_config(config: dict) -> dict:
    """A copy of a model config with the ``compile_config`` of every model node removed.

    ``model.to_json()`` embeds the model's compile settings (``run_eagerly``, ``jit_compile``,
    ``steps_per_execution`` included), and ``model_from_json`` compiles the rebuilt model with
    them; the grader compiles from :func:`clean_compile_config` instead."""
    root = [config]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        value = parent[key]
        if isinstance(value, dict):
            copy = {k: v for k, v in value.items() if not (k == "compile_config" and "class_name" in value)}
            stack.extend((copy, k) for k in copy)
        elif isinstance(value, list):
            copy = list(value)
            stack.extend((copy, i) for i in range(len(copy)))
        else:
            continue
        parent[key] = copy
    return root[0]


_COMPILE_FIELDS = ("optimizer", "loss", "metrics", "weighted_metrics", "loss_weights")


def clean_compile_config(cfg: Any, name: str = "build_model", *, error: type[Exception] = PolicyError) -> dict:
    """The compile settings rebuilt from :data:`_COMPILE_FIELDS` only, each checked by
    :func:`check_config`. ``run_eagerly`` (the student's Python would run eagerly inside the
    grader's fit/predict), ``jit_compile``, ``steps_per_execution``, ``auto_scale_loss`` and
    any unknown key are dropped; Keras' defaults apply."""
    if not isinstance(cfg, dict):
        raise _refuse(error, name, "has unreadable compile settings")
    clean = {}
    for key in _COMPILE_FIELDS:
        if key in cfg:
            value = keras_spellings(cfg[key])
            check_config(value, name, error=error)
            clean[key] = value
    weights = clean.get("loss_weights")
    if weights is not None and not _numbers_only(weights):
        raise _refuse(error, name, "has loss_weights that are not numbers")
    return clean


def _numbers_only(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and (isinstance(item, bool) or not isinstance(item, (int, float))):
            return False
    return True


# ------------------------------------------------------------------------------ estimate_cost
@dataclass(frozen=True)
class LayerCost:
    name: str
    class_name: str
    params: int | None  # None: no estimate for this layer
    flops: int | None  # per example (multiply-add = 2)
    output_shape: tuple | None  # without the batch axis; None: unknown


@dataclass(frozen=True)
class Cost:
    """Size of a model from its config: ``params`` as ``count_params()`` counts them (trainable
    and not), ``flops_per_example`` of one forward pass (a multiply-add counts 2). When
    ``partial``, some layer had no estimate (``unknown`` says which and why) and both numbers
    are lower bounds."""

    params: int
    flops_per_example: int
    partial: bool = False
    unknown: tuple[str, ...] = ()
    layers: tuple[LayerCost, ...] = field(default=(), repr=False)


class _Unknown(Exception):
    """No estimate for this layer (unsupported class, unknown shape, malformed value)."""


Shape = tuple  # of int | None, without the batch axis

MAX_NESTED_MODELS = 16
MAX_RANK = 8


def estimate_cost(config: dict, input_shape: Iterable[int | None] | None = None) -> Cost:
    """Parameters and forward FLOPs per example of a Sequential or Functional model config,
    by shape inference on the config alone: no Keras, no TensorFlow, no weights.

    ``input_shape`` (without the batch axis) is used when the config gives none (a Sequential
    without ``keras.Input`` that was never built). A layer's params are the larger of what its
    inferred input and its own ``build_config`` give, since Keras builds (allocates) each layer
    from its ``build_config`` when it rebuilds the model. Run :func:`check_config` first."""
    state = _State()
    given = _shape(input_shape) if input_shape is not None else None
    try:
        _model_outputs(config, [given] if given is not None else None, state, 0, "")
    except _Unknown as exc:
        state.unknown.append(f"model: {exc}")
    params = sum(p for p in state.params.values() if p is not None)
    flops = sum(f for f in state.flops if f is not None)
    return Cost(int(params), int(flops), bool(state.unknown), tuple(state.unknown), tuple(state.rows))


class _State:
    def __init__(self) -> None:
        self.params: dict[int, int | None] = {}  # id(layer node) -> params (a shared layer counts once)
        self.flops: list[int | None] = []
        self.unknown: list[str] = []
        self.rows: list[LayerCost] = []
        self.steps = 0


def _int(value: Any, minimum: int = 0) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Unknown(f"not a whole number >= {minimum}: {str(value)[:40]}")
    return value


def _ints(value: Any, n: int, minimum: int = 1) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise _Unknown(f"expected {n} values, got {len(value)}")
        return tuple(_int(v, minimum) for v in value)
    return (_int(value, minimum),) * n


def _shape(value: Any) -> Shape:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_RANK:
        raise _Unknown(f"unreadable shape {str(value)[:60]}")
    return tuple(None if v is None else _int(v) for v in value)


def _prod(values: Iterable[int | None]) -> int | None:
    total = 1
    for v in values:
        if v is None:
            return None
        total *= v
    return total


def _mul(*values: int | None) -> int | None:
    return _prod(values)


def _batch_shape(value: Any) -> Shape | None:
    """A Keras batch shape (batch axis first) -> the shape without the batch axis."""
    if value is None:
        return None
    shape = _shape(value)
    if not shape:
        raise _Unknown("a shape without a batch axis")
    return shape[1:]


def _input_layer_shape(node: dict) -> Shape:
    cfg = node.get("config") or {}
    for key in ("batch_shape", "batch_input_shape"):
        if cfg.get(key) is not None:
            return _batch_shape(cfg[key])  # type: ignore[return-value]
    if cfg.get("shape") is not None:
        return _shape(cfg["shape"])
    raise _Unknown(f"InputLayer {str(cfg.get('name'))[:40]!r} has no shape")


def _build_input_shapes(node: dict) -> list[Shape] | None:
    build = node.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if shape is None:
        return None
    if isinstance(shape, list) and shape and all(isinstance(s, list) or s is None for s in shape) \
            and any(isinstance(s, list) for s in shape):
        return [_batch_shape(s) for s in shape]  # type: ignore[misc]
    return [_batch_shape(shape)]  # type: ignore[list-item]


def _model_outputs(node: dict, inputs: list[Shape] | None, state: _State, depth: int, prefix: str) -> list[Shape | None]:
    if depth > MAX_NESTED_MODELS:
        raise _Unknown(f"models nested more than {MAX_NESTED_MODELS} deep")
    if not isinstance(node, dict) or not _is_model_node(node):
        raise _Unknown("not a Sequential or functional model")
    cfg = node.get("config")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("layers"), list):
        raise _Unknown("a model without layers")
    label = prefix + str(cfg.get("name", "model"))[:60] + "/"
    if node.get("class_name") == "Sequential":
        return [_sequential(node, cfg, inputs, state, depth, label)]
    return _functional(cfg, inputs, state, depth, label)


def _sequential(node: dict, cfg: dict, inputs: list[Shape] | None, state: _State, depth: int, label: str) -> Shape | None:
    layers = [layer for layer in cfg["layers"] if isinstance(layer, dict)]
    shape: Shape | None = None
    if layers and layers[0].get("class_name") == "InputLayer":
        shape = _input_layer_shape(layers[0])
        layers = layers[1:]
    elif inputs:
        shape = inputs[0]
    elif cfg.get("build_input_shape") is not None:
        shape = _batch_shape(cfg["build_input_shape"])
    else:
        built = _build_input_shapes(node)
        if built:
            shape = built[0]
    for layer in layers:
        outputs = _call_layer(layer, [shape] if shape is not None else None, state, depth, label)
        shape = outputs[0] if outputs else None
    return shape


def _tensor_refs(args: Any) -> list[tuple[str, int, int]]:
    refs = []
    stack = [args]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "__keras_tensor__":
                history = (item.get("config") or {}).get("keras_history")
                if not (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)):
                    raise _Unknown("unreadable keras_history")
                refs.append((history[0], _int(history[1]), _int(history[2])))
            else:
                stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return refs


def _endpoints(value: Any) -> list[tuple[str, int, int]]:
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [(value[0], _int(value[1]), _int(value[2]))]
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        raise _Unknown("unreadable input_layers/output_layers")
    return [ref for item in value for ref in _endpoints(item)]


def _functional(cfg: dict, inputs: list[Shape] | None, state: _State, depth: int, label: str) -> list[Shape | None]:
    produced: dict[tuple[str, int, int], Shape | None] = {}
    input_refs = _endpoints(cfg.get("input_layers"))
    given = dict(zip(input_refs, inputs, strict=True)) if inputs and len(inputs) == len(input_refs) else {}
    for layer in cfg["layers"]:
        if not isinstance(layer, dict):
            continue
        layer_name = layer.get("name") or (layer.get("config") or {}).get("name")
        if not isinstance(layer_name, str):
            raise _Unknown("a layer without a name")
        if layer.get("class_name") == "InputLayer":
            key = (layer_name, 0, 0)
            produced[key] = given.get(key) or _input_layer_shape(layer)
            continue
        nodes = layer.get("inbound_nodes")
        if not isinstance(nodes, list):
            raise _Unknown(f"layer {layer_name[:40]!r} has no inbound_nodes")
        for index, call in enumerate(nodes):
            refs = _tensor_refs(call.get("args") if isinstance(call, dict) else call)
            shapes = [produced.get(ref) for ref in refs]
            known = None if any(s is None for s in shapes) or not shapes else shapes
            outputs = _call_layer(layer, known, state, depth, label, shared=index > 0)
            for t, out in enumerate(outputs or [None]):
                produced[(layer_name, index, t)] = out
    return [produced.get(ref) for ref in _endpoints(cfg.get("output_layers"))]


def _call_layer(layer: dict, inputs: list[Shape] | None, state: _State, depth: int, label: str,
                shared: bool = False) -> list[Shape | None]:
    """Record a layer's cost for ``inputs``; its output shapes (None: unknown)."""
    state.steps += 1
    if state.steps > MAX_NODES:
        raise _Unknown("too many layer calls")
    cls = str(layer.get("class_name"))
    cfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    lname = label + str(cfg.get("name", cls))[:60]
    if _is_model_node(layer):
        if inputs is None:
            inputs = _build_input_shapes(layer)
        try:
            return _model_outputs(layer, inputs, state, depth + 1, label)
        except _Unknown as exc:
            state.unknown.append(f"{lname} ({cls}): {exc}")
            return [None]
    params: int | None = None
    flops: int | None = None
    outputs: list[Shape | None] = [None]
    try:
        if inputs is None:
            inputs = _build_input_shapes(layer)
            if inputs is None:
                raise _Unknown("input shape unknown")
        rule = _RULES.get(cls)
        if rule is None:
            raise _Unknown("no size rule for this layer")
        params, flops, out = rule(cfg, inputs)
        outputs = [out]
        built = _build_input_shapes(layer)  # what Keras allocates when it rebuilds the layer
        if built is not None and built != inputs:
            try:
                params = max(params, rule(cfg, built)[0])
            except _Unknown:
                pass
    except _Unknown as exc:
        state.unknown.append(f"{lname} ({cls}): {exc}")
    key = id(layer)
    if key not in state.params or (params or 0) > (state.params[key] or 0):
        state.params[key] = params
    state.flops.append(flops)
    state.rows.append(LayerCost(lname, cls, None if shared else params, flops, outputs[0]))
    return outputs


# ---- per-layer rules: (config, input shapes) -> (params, flops per example, output shape)
def _one(inputs: list[Shape]) -> Shape:
    if len(inputs) != 1:
        raise _Unknown(f"expected one input, got {len(inputs)}")
    return inputs[0]


def _channels_last(cfg: dict) -> bool:
    fmt = cfg.get("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise _Unknown(f"data_format {str(fmt)[:30]!r}")
    return fmt == "channels_last"


def _split(shape: Shape, rank: int, cfg: dict) -> tuple[tuple[int | None, ...], int | None]:
    if len(shape) != rank + 1:
        raise _Unknown(f"expected a rank-{rank + 1} input, got {shape}")
    return (shape[:-1], shape[-1]) if _channels_last(cfg) else (shape[1:], shape[0])


def _join(spatial: Iterable[int | None], channels: int | None, cfg: dict) -> Shape:
    spatial = tuple(spatial)
    return spatial + (channels,) if _channels_last(cfg) else (channels,) + spatial


def _out_len(n: int | None, k: int, s: int, padding: str, dilation: int = 1) -> int | None:
    if n is None:
        return None
    if padding in ("same", "causal"):
        out = (n - 1) // s + 1
    elif padding == "valid":
        out = (n - dilation * (k - 1) - 1) // s + 1
    else:
        raise _Unknown(f"padding {str(padding)[:20]!r}")
    if out <= 0:
        raise _Unknown(f"output size {out}: the input ({n}) is smaller than the window ({k})")
    return out


def _dense(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    if not shape or shape[-1] is None:
        raise _Unknown("Dense needs a known last dimension")
    units = _int(cfg.get("units"), 1)
    fan_in = shape[-1]
    params = fan_in * units + (units if cfg.get("use_bias", True) else 0)
    positions = _prod(shape[:-1])
    return params, _mul(2 * fan_in * units, positions), shape[:-1] + (units,)


def _conv(rank: int, transpose: bool = False):
    def rule(cfg: dict, inputs: list[Shape]):
        spatial, cin = _split(_one(inputs), rank, cfg)
        if cin is None:
            raise _Unknown("unknown number of input channels")
        filters = _int(cfg.get("filters"), 1)
        kernel = _ints(cfg.get("kernel_size"), rank)
        strides = _ints(cfg.get("strides", 1), rank)
        dilation = _ints(cfg.get("dilation_rate", 1), rank)
        groups = _int(cfg.get("groups", 1) or 1, 1)
        padding = str(cfg.get("padding", "valid")).lower()
        if cin % groups or filters % groups:
            raise _Unknown(f"groups={groups} does not divide the channels")
        if transpose:
            outpad = cfg.get("output_padding")
            outpad_t = _ints(outpad, rank, 0) if outpad is not None else None
            out = []
            for i, n in enumerate(spatial):
                k = kernel[i] + (kernel[i] - 1) * (dilation[i] - 1)
                if n is None:
                    out.append(None)
                elif outpad_t is None:
                    out.append(n * strides[i] + max(k - strides[i], 0) if padding == "valid" else n * strides[i])
                else:
                    pad = k // 2 if padding == "same" else 0
                    out.append((n - 1) * strides[i] + k - 2 * pad + outpad_t[i])
            kernel_params = math.prod(kernel) * cin * filters
        else:
            out = [_out_len(n, kernel[i], strides[i], padding, dilation[i]) for i, n in enumerate(spatial)]
            kernel_params = math.prod(kernel) * (cin // groups) * filters
        params = kernel_params + (filters if cfg.get("use_bias", True) else 0)
        in_positions = _prod(spatial) if transpose else _prod(out)
        return params, _mul(2 * kernel_params, in_positions), _join(out, filters, cfg)
    return rule


def _separable(rank: int, depthwise_only: bool):
    def rule(cfg: dict, inputs: list[Shape]):
        spatial, cin = _split(_one(inputs), rank, cfg)
        if cin is None:
            raise _Unknown("unknown number of input channels")
        kernel = _ints(cfg.get("kernel_size"), rank)
        strides = _ints(cfg.get("strides", 1), rank)
        dilation = _ints(cfg.get("dilation_rate", 1), rank)
        multiplier = _int(cfg.get("depth_multiplier", 1), 1)
        padding = str(cfg.get("padding", "valid")).lower()
        out = [_out_len(n, kernel[i], strides[i], padding, dilation[i]) for i, n in enumerate(spatial)]
        depthwise = math.prod(kernel) * cin * multiplier
        positions = _prod(out)
        if depthwise_only:
            channels = cin * multiplier
            params = depthwise + (channels if cfg.get("use_bias", True) else 0)
            return params, _mul(2 * depthwise, positions), _join(out, channels, cfg)
        filters = _int(cfg.get("filters"), 1)
        pointwise = cin * multiplier * filters
        params = depthwise + pointwise + (filters if cfg.get("use_bias", True) else 0)
        return params, _mul(2 * (depthwise + pointwise), positions), _join(out, filters, cfg)
    return rule


def _pool(rank: int):
    def rule(cfg: dict, inputs: list[Shape]):
        spatial, channels = _split(_one(inputs), rank, cfg)
        size = _ints(cfg.get("pool_size", 2), rank)
        strides = _ints(cfg.get("strides") if cfg.get("strides") is not None else size, rank)
        padding = str(cfg.get("padding", "valid")).lower()
        out = [_out_len(n, size[i], strides[i], padding) for i, n in enumerate(spatial)]
        shape = _join(out, channels, cfg)
        return 0, _mul(_prod(shape), math.prod(size)), shape
    return rule


def _global_pool(rank: int):
    def rule(cfg: dict, inputs: list[Shape]):
        spatial, channels = _split(_one(inputs), rank, cfg)
        shape = _join((1,) * rank, channels, cfg) if cfg.get("keepdims") else (channels,)
        return 0, _prod(_one(inputs)), shape
    return rule


def _same_shape(cost_per_element: int = 1):
    def rule(cfg: dict, inputs: list[Shape]):
        shape = _one(inputs)
        return 0, _mul(_prod(shape), cost_per_element), shape
    return rule


def _flatten(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    if not _channels_last(cfg) and len(shape) > 1:
        shape = shape[1:] + shape[:1]
    return 0, 0, (_prod(shape),)


def _reshape(cfg: dict, inputs: list[Shape]):
    total = _prod(_one(inputs))
    raw = cfg.get("target_shape")
    if not isinstance(raw, list) or len(raw) > MAX_RANK:
        raise _Unknown("unreadable target_shape")
    target = [-1 if v == -1 and not isinstance(v, bool) else _int(v, 1) for v in raw]
    if target.count(-1) > 1:
        raise _Unknown("more than one -1 in target_shape")
    if -1 in target:
        known = math.prod(v for v in target if v != -1)
        if total is None or total % known:
            raise _Unknown("cannot infer the -1 dimension")
        target = [total // known if v == -1 else v for v in target]
    if total is not None and math.prod(target) != total:
        raise _Unknown(f"cannot reshape {total} values to {tuple(target)}")
    return 0, 0, tuple(target)


def _permute(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    dims = _ints(cfg.get("dims"), len(shape), 1)
    if sorted(dims) != list(range(1, len(shape) + 1)):
        raise _Unknown("dims is not a permutation")
    return 0, 0, tuple(shape[d - 1] for d in dims)


def _repeat(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    n = _int(cfg.get("n"), 1)
    return 0, _mul(_prod(shape), n), (n,) + shape


def _pairs(value: Any, rank: int) -> list[tuple[int, int]]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = _int(value)
        return [(v, v)] * rank
    if isinstance(value, list) and len(value) == rank:
        out = []
        for item in value:
            if isinstance(item, list):
                a, b = _ints(item, 2, 0)
            else:
                a = b = _int(item)
            out.append((a, b))
        return out
    if rank == 1 and isinstance(value, list) and len(value) == 2:
        a, b = _ints(value, 2, 0)
        return [(a, b)]
    raise _Unknown(f"unreadable padding/cropping {str(value)[:40]}")


def _pad_crop(rank: int, sign: int, key: str):
    def rule(cfg: dict, inputs: list[Shape]):
        if rank == 1:
            shape = _one(inputs)
            if len(shape) != 2:
                raise _Unknown("expected a rank-2 input")
            spatial, channels = shape[:1], shape[1]
            pairs = _pairs(cfg.get(key), 1)
            out = [None if spatial[0] is None else spatial[0] + sign * sum(pairs[0])]
            return 0, _prod((out[0], channels)), (out[0], channels)
        spatial, channels = _split(_one(inputs), rank, cfg)
        pairs = _pairs(cfg.get(key), rank)
        out = [None if n is None else n + sign * sum(p) for n, p in zip(spatial, pairs, strict=True)]
        if any(o is not None and o <= 0 for o in out):
            raise _Unknown("cropped to nothing")
        shape = _join(out, channels, cfg)
        return 0, _prod(shape), shape
    return rule


def _upsample(rank: int):
    def rule(cfg: dict, inputs: list[Shape]):
        if rank == 1:
            shape = _one(inputs)
            if len(shape) != 2:
                raise _Unknown("expected a rank-2 input")
            size = _int(cfg.get("size", 2), 1)
            out = (None if shape[0] is None else shape[0] * size, shape[1])
            return 0, _prod(out), out
        spatial, channels = _split(_one(inputs), rank, cfg)
        size = _ints(cfg.get("size", 2), rank)
        out = [None if n is None else n * s for n, s in zip(spatial, size, strict=True)]
        shape = _join(out, channels, cfg)
        return 0, _prod(shape), shape
    return rule


def _axes(cfg: dict, shape: Shape, default: int = -1) -> list[int]:
    axis = cfg.get("axis", default)
    axes = axis if isinstance(axis, list) else [axis]
    rank = len(shape) + 1  # Keras counts the batch axis
    out = []
    for a in axes:
        a = _int(a, -rank) if isinstance(a, int) and a < 0 else _int(a, 1)
        a = a + rank if a < 0 else a
        if not 1 <= a < rank:
            raise _Unknown(f"axis {a} out of range")
        out.append(a - 1)
    return out


def _batchnorm(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    size = _prod(shape[a] for a in _axes(cfg, shape))
    if size is None:
        raise _Unknown("unknown normalized dimension")
    per = 2 + bool(cfg.get("center", True)) + bool(cfg.get("scale", True))
    return per * size, _mul(_prod(shape), 4), shape


def _layernorm(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    size = _prod(shape[a] for a in _axes(cfg, shape))
    if size is None:
        raise _Unknown("unknown normalized dimension")
    per = bool(cfg.get("center", True)) + bool(cfg.get("scale", True))
    return per * size, _mul(_prod(shape), 8), shape


def _groupnorm(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    size = shape[_axes(cfg, shape)[0]]
    if size is None:
        raise _Unknown("unknown normalized dimension")
    per = bool(cfg.get("center", True)) + bool(cfg.get("scale", True))
    return per * size, _mul(_prod(shape), 8), shape


def _normalization(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    axes = _axes(cfg, shape) if cfg.get("axis", -1) is not None else []
    size = _prod(shape[a] for a in axes) if axes else 1
    if size is None:
        raise _Unknown("unknown normalized dimension")
    params = 0 if cfg.get("mean") is not None else 2 * size + 1  # adapt_mean, adapt_variance, count
    return params, _mul(_prod(shape), 2), shape


def _prelu(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    shared = cfg.get("shared_axes") or []
    shared = {_int(a, 1) - 1 for a in (shared if isinstance(shared, list) else [shared])}
    size = _prod(1 if i in shared else d for i, d in enumerate(shape))
    if size is None:
        raise _Unknown("unknown dimension")
    return size, _mul(_prod(shape), 2), shape


def _embedding(cfg: dict, inputs: list[Shape]):
    shape = _one(inputs)
    n, d = _int(cfg.get("input_dim"), 1), _int(cfg.get("output_dim"), 1)
    return n * d, _mul(_prod(shape), d), shape + (d,)


def _rnn_params(cls: str, cfg: dict, features: int) -> int:
    units = _int(cfg.get("units"), 1)
    bias = bool(cfg.get("use_bias", True))
    if cls == "SimpleRNN":
        return units * (features + units) + units * bias
    if cls == "LSTM":
        return 4 * units * (features + units) + 4 * units * bias
    if cls == "GRU":
        return 3 * units * (features + units) + 3 * units * bias * (2 if cfg.get("reset_after", True) else 1)
    raise _Unknown("no size rule for this recurrent layer")


def _rnn(cls: str):
    def rule(cfg: dict, inputs: list[Shape]):
        shape = _one(inputs)
        if len(shape) != 2 or shape[1] is None:
            raise _Unknown("a recurrent layer needs (timesteps, features) inputs")
        if cfg.get("return_state"):
            raise _Unknown("return_state=True")
        units = _int(cfg.get("units"), 1)
        params = _rnn_params(cls, cfg, shape[1])
        out = (shape[0], units) if cfg.get("return_sequences") else (units,)
        return params, _mul(2 * params, shape[0]), out
    return rule


def _bidirectional(cfg: dict, inputs: list[Shape]):
    rnn = ("SimpleRNN", "LSTM", "GRU")
    forward, backward = cfg.get("layer"), cfg.get("backward_layer")
    if backward is None:
        backward = forward  # Keras builds the backward layer from the forward layer's config
    if not all(isinstance(x, dict) and x.get("class_name") in rnn for x in (forward, backward)):
        raise _Unknown("Bidirectional needs a SimpleRNN, LSTM or GRU")
    p1, f1, out1 = _rnn(forward["class_name"])(forward.get("config") or {}, inputs)
    p2, f2, out2 = _rnn(backward["class_name"])(backward.get("config") or {}, inputs)
    mode = cfg.get("merge_mode", "concat")
    if mode == "concat":
        out = out1[:-1] + (out1[-1] + out2[-1],)
    elif mode in ("sum", "mul", "ave") and out1 == out2:
        out = out1
    else:
        raise _Unknown(f"merge_mode {str(mode)[:20]!r}")
    return p1 + p2, None if f1 is None or f2 is None else f1 + f2, out


def _merge(cfg: dict, inputs: list[Shape]):
    if len(inputs) < 2 or len({len(s) for s in inputs}) != 1:
        raise _Unknown("a merge layer needs inputs of one rank")
    out = tuple(max((d for d in dims if d is not None), default=None) if None not in dims or len(set(dims)) > 1
                else None for dims in zip(*inputs, strict=True))
    return 0, _mul(_prod(out), len(inputs)), out


def _concatenate(cfg: dict, inputs: list[Shape]):
    if len(inputs) < 2 or len({len(s) for s in inputs}) != 1:
        raise _Unknown("Concatenate needs inputs of one rank")
    axis = _axes(cfg, inputs[0])[0]
    along = [s[axis] for s in inputs]
    out = list(inputs[0])
    out[axis] = None if None in along else sum(along)  # type: ignore[arg-type]
    return 0, _prod(out), tuple(out)


def _resize(cfg: dict, inputs: list[Shape]):
    spatial, channels = _split(_one(inputs), 2, cfg)
    out = (_int(cfg.get("height"), 1), _int(cfg.get("width"), 1))
    shape = _join(out, channels, cfg)
    return 0, _prod(shape), shape


_RULES: dict[str, Any] = {
    "Dense": _dense,
    "Conv1D": _conv(1), "Conv2D": _conv(2), "Conv3D": _conv(3),
    "Conv1DTranspose": _conv(1, True), "Conv2DTranspose": _conv(2, True), "Conv3DTranspose": _conv(3, True),
    "SeparableConv1D": _separable(1, False), "SeparableConv2D": _separable(2, False),
    "DepthwiseConv1D": _separable(1, True), "DepthwiseConv2D": _separable(2, True),
    "MaxPooling1D": _pool(1), "MaxPooling2D": _pool(2), "MaxPooling3D": _pool(3),
    "AveragePooling1D": _pool(1), "AveragePooling2D": _pool(2), "AveragePooling3D": _pool(3),
    "GlobalAveragePooling1D": _global_pool(1), "GlobalAveragePooling2D": _global_pool(2),
    "GlobalAveragePooling3D": _global_pool(3), "GlobalMaxPooling1D": _global_pool(1),
    "GlobalMaxPooling2D": _global_pool(2), "GlobalMaxPooling3D": _global_pool(3),
    "Flatten": _flatten, "Reshape": _reshape, "Permute": _permute, "RepeatVector": _repeat,
    "ZeroPadding1D": _pad_crop(1, 1, "padding"), "ZeroPadding2D": _pad_crop(2, 1, "padding"),
    "ZeroPadding3D": _pad_crop(3, 1, "padding"), "Cropping1D": _pad_crop(1, -1, "cropping"),
    "Cropping2D": _pad_crop(2, -1, "cropping"), "Cropping3D": _pad_crop(3, -1, "cropping"),
    "UpSampling1D": _upsample(1), "UpSampling2D": _upsample(2), "UpSampling3D": _upsample(3),
    "BatchNormalization": _batchnorm, "LayerNormalization": _layernorm, "GroupNormalization": _groupnorm,
    "Normalization": _normalization, "PReLU": _prelu, "Embedding": _embedding,
    "SimpleRNN": _rnn("SimpleRNN"), "LSTM": _rnn("LSTM"), "GRU": _rnn("GRU"), "Bidirectional": _bidirectional,
    "Add": _merge, "Subtract": _merge, "Multiply": _merge, "Average": _merge, "Maximum": _merge,
    "Minimum": _merge, "Concatenate": _concatenate,
    "Resizing": _resize, "CenterCrop": _resize, "RandomCrop": _resize,
}
for _cls in ("Activation", "Masking", "Identity", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
             "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
             "UnitNormalization", "ReLU", "Softmax", "LeakyReLU", "ELU", "Rescaling", "RandomFlip",
             "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness"):
    _RULES[_cls] = _same_shape()
del _cls


# ------------------------------------------------------------------------------- check_budget
def check_budget(cost: Cost, max_params: int | None, max_flops: int | None, name: str, *,
                 error: type[Exception] = PolicyError, allow_partial: bool = False) -> None:
    """Raise ``error`` when ``cost`` exceeds the exercise's budget (None: no limit), or when the
    size could not be worked out for some layer (``cost.partial``) unless ``allow_partial``:
    the grader then refuses rather than rebuild a model of unknown size."""
    if max_params is not None and cost.params > max_params:
        raise _refuse(error, name, f"has {cost.params:,} parameters; this exercise allows at most {max_params:,}")
    if max_flops is not None and cost.flops_per_example > max_flops:
        raise _refuse(error, name, f"needs {cost.flops_per_example:,} operations per example; this exercise "
                                   f"allows at most {max_flops:,}")
    if cost.partial and not allow_partial:
        raise _refuse(error, name, "has a layer whose size the grader cannot work out from its config ("
                                   + "; ".join(cost.unknown[:3])[:300] + "): give the model a keras.Input "
                                   "and use the layers of the course")
