"""Comparing a Keras model with a specification, layer by layer, with teaching messages.

Generic helpers for suites: nothing here knows an exercise. A suite states *what* it
expects (a list of :class:`LayerSpec`, the compile settings) and these helpers say *how*
the model the student built differs, with the likely cause computed from the difference
itself (a convolution whose output is ``kernel - 1`` pixels too large used
``padding='same'``; a missing pooling layer; a sigmoid where softmax belongs; logits fed
to a loss that expects probabilities; Keras 2 habits such as ``metrics=['acc']``).

Everything runs on the trusted side on a model the engine rebuilt from its config (see
``ModelObservation``) and on plain compile-config dicts.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from grader.checks.expect import CheckFailed

__all__ = [
    "CompileSummary",
    "LayerReport",
    "LayerRow",
    "LayerSpec",
    "MetricInfo",
    "cached_training",
    "canonical_names",
    "check_compile",
    "check_layers",
    "compare_layers",
    "compile_problems",
    "data_digest",
    "describe_layers",
    "format_rows",
    "snake_case",
    "spec",
    "summarize_compile",
    "summary_text",
    "training_fields",
]

# Layer classes that only apply an activation: folded into the layer before them so that
# ``Conv2D(64, 3)`` followed by ``ReLU()`` compares equal to ``Conv2D(64, 3, activation='relu')``.
_ACTIVATION_LAYERS = {
    "Activation": None,  # the name is in the config
    "ReLU": "relu",
    "Softmax": "softmax",
    "LeakyReLU": "leaky_relu",
    "ELU": "elu",
    "PReLU": "prelu",
}
# Configuration keys worth showing and comparing (others: names, initializers... ignored).
_KEY_CONFIG = ("filters", "kernel_size", "strides", "padding", "pool_size", "units", "rate",
               "use_bias", "target_shape", "scale", "offset")
_TUPLE_KEYS = ("kernel_size", "strides", "pool_size")
_SKIPPED = ("InputLayer",)


# ------------------------------------------------------------------ describing a model

@dataclass(frozen=True)
class LayerRow:
    """What one layer of a built model is: the facts a spec is compared with."""

    kind: str  # class name: "Conv2D"
    output_shape: tuple | None  # without the batch dimension; None if the layer is not built
    params: int | None
    activation: str | None  # "relu", "linear", ...; None for layers without one
    config: dict[str, Any] = field(default_factory=dict)  # the keys of _KEY_CONFIG it has
    name: str = ""

    def describe(self) -> str:
        return _describe(self.kind, self.config, self.activation)


def _norm_value(key: str, value: Any) -> Any:
    if key in _TUPLE_KEYS and value is not None:
        if isinstance(value, int):
            return (value, value)
        return tuple(value)
    if isinstance(value, list):
        return tuple(value)
    return value


def _activation_name(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):  # a serialized activation object or function
        inner = value.get("config")
        if isinstance(inner, str):
            return inner
        return str(value.get("class_name", "custom"))
    name = getattr(value, "__name__", None)
    return name or type(value).__name__


def _rows_of(layer: Any) -> list[LayerRow]:
    import keras

    if isinstance(layer, keras.Model):  # a nested model: its layers, in order
        rows: list[LayerRow] = []
        for inner in layer.layers:
            rows.extend(_rows_of(inner))
        return rows
    kind = type(layer).__name__
    if kind in _SKIPPED:
        return []
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 - a layer without a config still has a kind
        config = {}
    try:
        shape: tuple | None = tuple(layer.output.shape)[1:]
    except Exception:  # noqa: BLE001 - never called: no output shape
        shape = None
    try:
        params: int | None = int(layer.count_params()) if layer.built else None
    except Exception:  # noqa: BLE001
        params = None
    if kind in _ACTIVATION_LAYERS:
        activation = _ACTIVATION_LAYERS[kind] or _activation_name(config.get("activation"))
    else:
        activation = _activation_name(config.get("activation")) if "activation" in config else None
    key_config = {k: _norm_value(k, config[k]) for k in _KEY_CONFIG if k in config}
    return [LayerRow(kind, shape, params, activation, key_config, getattr(layer, "name", ""))]


def describe_layers(model: Any, fold_activations: bool = True) -> list[LayerRow]:
    """The model's layers as rows (input layers skipped, nested models expanded).

    With ``fold_activations`` a standalone activation layer (``Activation``, ``ReLU``,
    ``Softmax``...) that follows a layer without an activation of its own is merged into
    that layer, so both ways of writing an activation describe the same model.
    """
    rows: list[LayerRow] = []
    for layer in model.layers:
        rows.extend(_rows_of(layer))
    if not fold_activations:
        return rows
    folded: list[LayerRow] = []
    for row in rows:
        if (
            row.kind in _ACTIVATION_LAYERS
            and folded
            and folded[-1].activation == "linear"
            and folded[-1].kind not in _ACTIVATION_LAYERS
        ):
            folded[-1] = replace(folded[-1], activation=row.activation,
                                 output_shape=row.output_shape or folded[-1].output_shape)
        else:
            folded.append(row)
    return folded


def format_rows(rows: Sequence[LayerRow]) -> str:
    """A plain-text table of rows (no colours or box drawing; fits a grading report)."""
    lines = [f"{'#':>2}  {'layer':<50} {'output shape':<16} {'params':>9}"]
    for i, row in enumerate(rows):
        shape = "?" if row.output_shape is None else _shape(row.output_shape)
        params = "?" if row.params is None else f"{row.params:,}"
        lines.append(f"{i:>2}  {row.describe():<50} {shape:<16} {params:>9}")
    total = sum(r.params or 0 for r in rows)
    lines.append(f"    total parameters: {total:,}")
    return "\n".join(lines)


def summary_text(model: Any) -> str:
    """``model.summary()`` as text (what the student sees in the notebook)."""
    out = io.StringIO()

    def write(text: str, *args: Any, **kwargs: Any) -> None:
        out.write(str(text))
        if not str(text).endswith("\n"):
            out.write("\n")

    model.summary(print_fn=write)
    return out.getvalue()


def _shape(shape: Sequence[Any]) -> str:
    items = ["None" if s is None else str(s) for s in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _scale_text(scale: Any) -> str:
    """A Rescaling scale as written: 0.00392... as ``1/255``, 2.0 as ``2``."""
    if not isinstance(scale, (int, float)) or isinstance(scale, bool):
        return repr(scale)
    if 0 < abs(scale) < 1:
        inverse = 1 / scale
        if abs(inverse - round(inverse)) < 1e-6 * abs(inverse):
            return f"1/{round(inverse)}"
    return f"{scale:g}"


def _describe(kind: str, config: dict[str, Any], activation: str | None) -> str:
    parts = []
    if kind == "Conv2D" or kind == "Conv1D":
        if "filters" in config:
            parts.append(str(config["filters"]))
        if "kernel_size" in config:
            parts.append(str(config["kernel_size"]))
        if config.get("padding") not in (None, "valid"):
            parts.append(f"padding={config['padding']!r}")
        if config.get("strides") not in (None, (1, 1), (1,)):
            parts.append(f"strides={config['strides']}")
    elif kind.endswith("Pooling2D") and "Global" not in kind:
        if "pool_size" in config:
            parts.append(str(config["pool_size"]))
        if config.get("padding") not in (None, "valid"):
            parts.append(f"padding={config['padding']!r}")
    elif kind == "Dense" and "units" in config:
        parts.append(str(config["units"]))
    elif kind == "Dropout" and "rate" in config:
        parts.append(str(config["rate"]))
    elif kind == "Rescaling" and "scale" in config:
        parts.append(_scale_text(config["scale"]))
        if isinstance(config.get("offset"), (int, float)) and config["offset"]:
            parts.append(f"offset={config['offset']:g}")
    if activation is not None and kind not in _ACTIVATION_LAYERS:
        parts.append(f"activation={activation!r}")
    elif kind in _ACTIVATION_LAYERS and activation:
        parts.append(repr(activation))
    return f"{kind}({', '.join(parts)})"


# ------------------------------------------------------------------ the specification

@dataclass(frozen=True)
class LayerSpec:
    """One expected layer: its kind, output shape (no batch dimension), parameter count,
    activation (None: not checked) and the configuration values that matter."""

    kind: str
    output_shape: tuple | None = None
    params: int | None = None
    activation: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return _describe(self.kind, self.config, self.activation)


def spec(kind: str, output_shape: Sequence[int] | None = None, params: int | None = None,
         activation: str | None = None, **config: Any) -> LayerSpec:
    """Shorthand: ``spec("Conv2D", (26, 26, 64), 640, "relu", filters=64, kernel_size=3)``."""
    normed = {k: _norm_value(k, v) for k, v in config.items()}
    return LayerSpec(kind, None if output_shape is None else tuple(output_shape), params,
                     activation, normed)


# ------------------------------------------------------------------ comparing

# (expected activation, found activation) -> why it matters
_ACTIVATION_HINTS = {
    ("softmax", "sigmoid"): "sigmoid scores every class on its own, so the outputs do not sum "
    "to 1; to pick one class out of several use activation='softmax'",
    ("softmax", "linear"): "without an activation the last layer outputs logits (any real "
    "numbers), not probabilities; use activation='softmax'",
    ("softmax", "relu"): "relu outputs are not probabilities (they do not sum to 1, and a "
    "class stuck at 0 gets no gradient); use activation='softmax'",
    ("relu", "linear"): "the activation is missing, so this layer is linear: stacked linear "
    "layers can only learn what one linear layer can; add activation='relu'",
    ("relu", "sigmoid"): "sigmoid saturates and trains slowly in hidden layers; use "
    "activation='relu'",
    ("relu", "softmax"): "softmax belongs on the output layer only; hidden layers use "
    "activation='relu'",
}

# likely cause when a layer of this kind is missing
_MISSING_HINTS = {
    "MaxPooling2D": "without it the feature maps are not halved, so every later output is "
    "larger (and the Dense layer after Flatten gets many more weights)",
    "AveragePooling2D": "without it the feature maps are not reduced",
    "Flatten": "without Flatten the Dense layer is applied at every pixel position and the "
    "output keeps the image dimensions",
    "Conv2D": "a convolution layer is missing",
    "Dense": "a Dense layer is missing",
}


@dataclass
class LayerReport:
    """The outcome of :func:`compare_layers`: problems (messages) and both tables."""

    rows: list[LayerRow]
    expected: list[LayerSpec]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def table(self) -> str:
        lines = ["found:", _indent(format_rows(self.rows)), "expected:"]
        exp = [f"{'#':>2}  {'layer':<50} {'output shape':<16} {'params':>9}"]
        for i, s in enumerate(self.expected):
            shape = "" if s.output_shape is None else _shape(s.output_shape)
            params = "" if s.params is None else f"{s.params:,}"
            exp.append(f"{i:>2}  {s.describe():<50} {shape:<16} {params:>9}")
        total = [s.params for s in self.expected]
        if all(p is not None for p in total):
            exp.append(f"    total parameters: {sum(total):,}")  # type: ignore[arg-type]
        lines.append(_indent("\n".join(exp)))
        return "\n".join(lines)

    def message(self, what: str = "the model") -> str:
        if self.ok:
            return f"{what} matches the specification."
        items = "\n".join(f"- {p}" for p in self.problems)
        return f"{what} differs from the specification:\n{items}\n\n{self.table()}"


def _indent(text: str, pad: str = "    ") -> str:
    return "\n".join(pad + line for line in text.splitlines())


def compare_layers(model_or_rows: Any, expected: Sequence[LayerSpec],
                   input_shape: Sequence[int] | None = None,
                   check_activations: bool = True, check_structure: bool = True) -> LayerReport:
    """Compare a model (or its rows) with the expected layers; explain each difference.

    ``check_structure``: layer kinds, configuration, output shapes, parameter counts (and
    the input shape); ``check_activations``: the activation of each layer that is where
    the specification expects it. A difference in output shape or parameter count is
    reported only where it starts (the layer's input matched); later layers that merely
    inherit it are not blamed again.
    """
    if isinstance(model_or_rows, list):
        rows, model = model_or_rows, None
    else:
        rows, model = describe_layers(model_or_rows), model_or_rows
    expected = list(expected)
    if not check_structure:
        return LayerReport(rows, expected, _activation_problems(rows, expected))
    problems: list[str] = []
    if rows and any(r.output_shape is None for r in rows):
        problems.append(
            "the model was never built, so its layers have no output shapes: give it an input "
            "shape (start a Sequential model with keras.Input(shape=...))"
        )

    if input_shape is not None and model is not None:
        found_input = _model_input_shape(model)
        if found_input is not None and tuple(found_input) != tuple(input_shape):
            hint = ""
            if tuple(found_input) == tuple(input_shape)[:-1] and input_shape[-1] == 1:
                hint = (" Conv2D needs a channel axis: a grayscale image is "
                        f"{_shape(input_shape)}, not {_shape(found_input)}.")
            problems.append(f"the model's input shape is {_shape(found_input)}, expected "
                            f"{_shape(input_shape)}.{hint}")

    matcher = difflib.SequenceMatcher(a=[r.kind for r in rows], b=[s.kind for s in expected],
                                      autojunk=False)
    shapes_agree = True  # did the layer before this one produce the expected output?
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            for k in range(a1 - a0):
                row, want = rows[a0 + k], expected[b0 + k]
                problems.extend(_compare_pair(a0 + k, row, want, shapes_agree, check_activations))
                shapes_agree = row.output_shape is None or want.output_shape is None or \
                    tuple(row.output_shape) == tuple(want.output_shape)
            continue
        if op in ("insert", "replace"):
            if op == "replace" and a1 - a0 == b1 - b0:
                for k in range(a1 - a0):
                    row, want = rows[a0 + k], expected[b0 + k]
                    problems.append(
                        f"layer {a0 + k}: expected {want.describe()}, found {row.describe()}."
                        + _kind_hint(want.kind, row.kind)
                    )
            else:
                after = f"after layer {a0 - 1} ({rows[a0 - 1].describe()})" if a0 > 0 else "first"
                for want in expected[b0:b1]:
                    hint = _MISSING_HINTS.get(want.kind, "")
                    problems.append(
                        f"a {want.describe()} layer is missing {after}"
                        + (f": {hint}." if hint else ".")
                    )
                for k in range(a0, a1):
                    problems.append(f"layer {k}: {rows[k].describe()} is not in the specification.")
        else:  # delete: extra layers
            for k in range(a0, a1):
                problems.append(
                    f"layer {k}: an extra {rows[k].describe()} that the specification does not have."
                )
        shapes_agree = False  # everything after a structural difference is a knock-on

    exp_total = [s.params for s in expected]
    if all(p is not None for p in exp_total) and all(r.params is not None for r in rows):
        found_total = sum(r.params for r in rows)  # type: ignore[misc]
        if found_total != sum(exp_total) and problems:  # type: ignore[arg-type]
            problems.append(f"in all the model has {found_total:,} parameters, expected "
                            f"{sum(exp_total):,}.")  # type: ignore[arg-type]
        elif found_total != sum(exp_total):  # type: ignore[arg-type]
            problems.append(f"the model has {found_total:,} parameters, expected "
                            f"{sum(exp_total):,}.")  # type: ignore[arg-type]
    return LayerReport(rows, expected, problems)


def _activation_problems(rows: Sequence[LayerRow], expected: Sequence[LayerSpec]) -> list[str]:
    """Activation differences only, on the layers that line up with the specification."""
    problems: list[str] = []
    matcher = difflib.SequenceMatcher(a=[r.kind for r in rows], b=[s.kind for s in expected],
                                      autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and a1 - a0 == b1 - b0):
            for k in range(a1 - a0):
                row, want = rows[a0 + k], expected[b0 + k]
                if op == "replace" and row.activation is None:
                    continue
                problems.extend(_activation_problem(a0 + k, row, want))
    return problems


def _activation_problem(i: int, row: LayerRow, want: LayerSpec) -> list[str]:
    if want.activation is None or row.activation == want.activation:
        return []
    hint = _ACTIVATION_HINTS.get((want.activation, row.activation or "linear"), "")
    return [f"layer {i} ({row.kind}): activation {row.activation!r}, expected "
            f"{want.activation!r}" + (f": {hint}." if hint else ".")]


def _model_input_shape(model: Any) -> tuple | None:
    try:
        shape = model.input_shape
    except Exception:  # noqa: BLE001
        return None
    if isinstance(shape, list):
        if len(shape) != 1:
            return None
        shape = shape[0]
    return tuple(shape)[1:]


def _kind_hint(expected: str, found: str) -> str:
    if expected == "MaxPooling2D" and found == "AveragePooling2D":
        return " AveragePooling2D averages each window; the specification keeps the maximum."
    if expected == "Flatten" and found.startswith("Global"):
        return f" {found} keeps one number per channel; Flatten keeps every value."
    return ""


def _compare_pair(i: int, row: LayerRow, want: LayerSpec, input_ok: bool,
                  check_activations: bool) -> list[str]:
    problems: list[str] = []
    config_problem = False
    for key, value in want.config.items():
        found = row.config.get(key)
        if found != value:
            config_problem = True
            problems.append(f"layer {i} ({row.kind}): {key}={_show(found)}, expected "
                            f"{key}={_show(value)}." + _config_hint(row, want, key))
    if check_activations:
        problems.extend(_activation_problem(i, row, want))
    shape_differs = (want.output_shape is not None and row.output_shape is not None
                     and tuple(row.output_shape) != tuple(want.output_shape))
    if shape_differs and input_ok:
        cause = "" if config_problem else _shape_cause(row, want)
        problems.append(f"layer {i} ({row.kind}): output shape {_shape(row.output_shape)}, "
                        f"expected {_shape(want.output_shape)}." + cause)
    if (want.params is not None and row.params is not None and row.params != want.params
            and input_ok and not shape_differs and not config_problem):
        problems.append(f"layer {i} ({row.kind}): {row.params:,} parameters, expected "
                        f"{want.params:,}.")
    return problems


def _show(value: Any) -> str:
    return repr(value)


def _config_hint(row: LayerRow, want: LayerSpec, key: str) -> str:
    if key == "padding" and row.config.get("padding") == "same":
        return (" padding='same' pads the image so the output keeps the input's height and "
                "width; the default padding='valid' shrinks it by kernel size - 1.")
    if key == "filters":
        return (f" The number of filters is the number of output channels: "
                f"{row.kind}({want.config['filters']}, ...).")
    if key == "units":
        return f" The number of units is the layer's output size: Dense({want.config['units']})."
    if key == "kernel_size":
        return " The kernel size is the second argument: Conv2D(filters, (3, 3))."
    return ""


def _shape_cause(row: LayerRow, want: LayerSpec) -> str:
    found, expected = tuple(row.output_shape or ()), tuple(want.output_shape or ())
    if len(found) == 3 and len(expected) == 3 and row.kind in ("Conv2D",):
        kernel = row.config.get("kernel_size") or (3, 3)
        grow = (found[0] - expected[0], found[1] - expected[1])
        if grow == (kernel[0] - 1, kernel[1] - 1) and row.config.get("padding") == "same":
            return (" padding='same' keeps the input's size; with padding='valid' (the "
                    "default) a convolution shrinks it by kernel size - 1.")
        if found[2] != expected[2]:
            return f" The last number is the number of filters ({expected[2]} expected)."
    return ""


# ------------------------------------------------------------------ compile settings

_KERAS2_LOSS_WEIGHTS = (
    "compile() received the metrics list as its third positional argument, which in Keras 3 "
    "is loss_weights (Keras 2 code like compile('adam', loss, ['accuracy']) no longer "
    "works): pass metrics=['accuracy'] by keyword"
)


@dataclass(frozen=True)
class MetricInfo:
    """A compiled metric: the key it logs under and what it computes."""

    log_key: str  # key in History.history / the logs dict
    kind: str  # "accuracy", "exact_match" (keras.metrics.Accuracy), or the class/name
    source: str  # how it was written, for messages


@dataclass(frozen=True)
class CompileSummary:
    compiled: bool
    optimizer: str | None = None  # lower-case class name: "adam", "sgd", "rmsprop"
    learning_rate: float | None = None
    loss: str | None = None  # snake-case name: "sparse_categorical_crossentropy"
    from_logits: bool = False
    metrics: tuple[MetricInfo, ...] = ()
    loss_weights: Any = None
    notes: tuple[str, ...] = ()  # Keras 2 habits and other oddities, as messages

    @property
    def metric_keys(self) -> list[str]:
        return [m.log_key for m in self.metrics]


def snake_case(name: str) -> str:
    """``SparseCategoricalCrossentropy`` -> ``sparse_categorical_crossentropy``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _loss_info(loss: Any) -> tuple[str | None, bool]:
    if loss is None:
        return None, False
    if isinstance(loss, str):
        return loss, False
    if isinstance(loss, dict):
        config = loss.get("config")
        if isinstance(config, str):  # a function: {"class_name": "function", "config": name}
            return config, False
        class_name = str(loss.get("class_name", "?"))
        from_logits = bool(config.get("from_logits", False)) if isinstance(config, dict) else False
        return snake_case(class_name), from_logits
    if isinstance(loss, (list, tuple)) and len(loss) == 1:
        return _loss_info(loss[0])
    return str(loss), False


def _metric_info(metric: Any) -> MetricInfo:
    if isinstance(metric, str):
        if metric in ("accuracy", "acc"):
            return MetricInfo(metric, "accuracy", repr(metric))
        return MetricInfo(metric, metric, repr(metric))
    if isinstance(metric, dict):
        class_name = str(metric.get("class_name", "?"))
        config = metric.get("config")
        if isinstance(config, str):  # a function
            return MetricInfo(config, config, config)
        name = config.get("name", snake_case(class_name)) if isinstance(config, dict) else class_name
        if class_name in ("SparseCategoricalAccuracy", "CategoricalAccuracy", "BinaryAccuracy"):
            kind = "accuracy"
        elif class_name == "Accuracy":
            kind = "exact_match"
        else:
            kind = snake_case(class_name)
        return MetricInfo(str(name), kind, f"keras.metrics.{class_name}()")
    return MetricInfo(str(metric), str(metric), repr(metric))


def summarize_compile(compile_config: dict[str, Any] | None) -> CompileSummary:
    """Read a ``model.get_compile_config()`` dict (None: the model was not compiled)."""
    if not compile_config:
        return CompileSummary(compiled=False)
    optimizer = compile_config.get("optimizer")
    opt_name, lr = None, None
    if isinstance(optimizer, str):
        opt_name = optimizer.lower()
    elif isinstance(optimizer, dict):
        opt_name = str(optimizer.get("class_name", "?")).lower()
        config = optimizer.get("config") or {}
        value = config.get("learning_rate") if isinstance(config, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lr = float(value)
    loss, from_logits = _loss_info(compile_config.get("loss"))
    raw_metrics = compile_config.get("metrics") or []
    if isinstance(raw_metrics, dict):  # per-output metrics: flatten
        flat: list[Any] = []
        for value in raw_metrics.values():
            flat.extend(value if isinstance(value, list) else [value])
        raw_metrics = flat
    if not isinstance(raw_metrics, list):
        raw_metrics = [raw_metrics]
    metrics = tuple(_metric_info(m) for m in raw_metrics)
    loss_weights = compile_config.get("loss_weights")
    notes: list[str] = []
    if _has_strings(loss_weights):
        notes.append(_KERAS2_LOSS_WEIGHTS)
    for m in metrics:
        if m.log_key == "acc":
            notes.append(
                "metrics=['acc'] is a Keras 2 habit: Keras 3 logs that metric under the key "
                "'acc', so code (and callbacks) reading logs['accuracy'] never see it; write "
                "metrics=['accuracy']"
            )
        if m.kind == "exact_match":
            notes.append(
                "keras.metrics.Accuracy() counts predictions exactly equal to the labels: it "
                "compares the 10 probabilities with the label, which is never what you want "
                "for a classifier; write metrics=['accuracy'] (Keras then picks the accuracy "
                "that matches your labels)"
            )
    return CompileSummary(True, opt_name, lr, loss, from_logits, metrics, loss_weights,
                          tuple(notes))


def _has_strings(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_strings(v) for v in value)
    if isinstance(value, dict):
        return any(_has_strings(v) for v in value.values())
    return False


_PROBABILITY_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy",
                       "binary_crossentropy")


def compile_problems(compile_config: dict[str, Any] | None, *, optimizer: str | None = None,
                     loss: str | None = None, metrics: Iterable[str] = (),
                     output_activation: str | None = None,
                     learning_rate: float | None = None) -> list[str]:
    """Messages for every way the compile settings differ from the expected ones.

    ``metrics`` are the log keys expected (``"accuracy"``); a metric that computes the same
    thing under another key (``SparseCategoricalAccuracy()``) is accepted unless it is a
    Keras 2 spelling. ``output_activation`` (of the model's last layer) lets the loss be
    checked against it: logits into a loss that expects probabilities, or the reverse.
    """
    summary = summarize_compile(compile_config)
    if not summary.compiled:
        return ["the model is not compiled: call model.compile(optimizer=..., loss=..., "
                "metrics=[...]) before returning it"]
    problems = list(summary.notes)
    if optimizer is not None and summary.optimizer != optimizer.lower():
        problems.append(f"optimizer: expected {optimizer!r}, found {summary.optimizer!r}")
    if (learning_rate is not None and summary.learning_rate is not None
            and abs(summary.learning_rate - learning_rate) > 1e-6 * max(1.0, learning_rate)):
        problems.append(f"learning rate: expected {learning_rate:g}, found "
                        f"{summary.learning_rate:g}")
    if loss is not None and summary.loss != loss:
        hint = ""
        if loss == "sparse_categorical_crossentropy" and summary.loss == "categorical_crossentropy":
            hint = (": categorical_crossentropy expects one-hot labels; with integer labels "
                    "(0..9) use sparse_categorical_crossentropy")
        elif summary.loss == "binary_crossentropy":
            hint = ": binary_crossentropy is for yes/no labels, not for one class out of several"
        elif summary.loss in ("mse", "mean_squared_error"):
            hint = ": mean squared error is a regression loss; a classifier uses cross-entropy"
        problems.append(f"loss: expected {loss!r}, found {summary.loss!r}{hint}")
    if output_activation is not None and summary.loss in _PROBABILITY_LOSSES:
        if output_activation in ("linear", None) and not summary.from_logits:
            problems.append(
                "the last layer outputs logits (no activation) but the loss expects "
                "probabilities (from_logits=False): add activation='softmax' to the last layer"
            )
        elif output_activation in ("softmax", "sigmoid") and summary.from_logits:
            problems.append(
                f"the last layer already applies {output_activation} but the loss was given "
                "from_logits=True, so it applies softmax a second time: drop from_logits=True "
                "(or remove the activation)"
            )
    keys = summary.metric_keys
    for wanted in metrics:
        if wanted in keys:
            continue
        same_kind = [m for m in summary.metrics if m.kind == wanted and m.log_key != "acc"]
        if same_kind:
            continue
        if wanted == "accuracy" and "acc" in keys:
            continue  # already explained in the notes
        if wanted == "accuracy" and any(m.kind == "exact_match" for m in summary.metrics):
            continue  # already explained in the notes
        if _has_strings(summary.loss_weights):
            continue  # the metrics went into loss_weights: explained in the notes
        shown = ", ".join(m.source for m in summary.metrics) or "none"
        problems.append(f"metrics: expected {wanted!r}, found {shown}; write "
                        f"metrics=[{wanted!r}]")
    return problems


# ------------------------------------------------------------------ raising checks

def check_layers(model: Any, expected: Sequence[LayerSpec], what: str = "the model",
                 input_shape: Sequence[int] | None = None, check_activations: bool = True,
                 check_structure: bool = True, hints: dict[str, str] | None = None) -> LayerReport:
    """Raise :class:`CheckFailed` with every difference (and both tables) unless the model
    matches ``expected``. ``hints`` maps a substring of a problem to extra, exercise-specific
    advice appended to it."""
    report = compare_layers(model, expected, input_shape, check_activations, check_structure)
    if not report.ok:
        if hints:
            report.problems = [_with_hints(p, hints) for p in report.problems]
        raise CheckFailed(report.message(what))
    return report


def check_compile(compile_config: dict[str, Any] | None, what: str = "the compile settings",
                  **expected: Any) -> None:
    """Raise :class:`CheckFailed` listing :func:`compile_problems` unless there are none."""
    problems = compile_problems(compile_config, **expected)
    if problems:
        items = "\n".join(f"- {p}." if not p.endswith(".") else f"- {p}" for p in problems)
        raise CheckFailed(f"{what} differ from the specification:\n{items}")


def _with_hints(problem: str, hints: dict[str, str]) -> str:
    extra = [advice for needle, advice in hints.items() if needle in problem]
    return problem + ("" if not extra else " " + " ".join(extra))


# ------------------------------------------------------------------ the trusted side's training, once per architecture

def data_digest(*arrays: Any) -> str:
    """sha256 of numeric arrays (dtype, shape and bytes): the data a trusted measurement used."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for array in arrays:
        a = np.ascontiguousarray(array)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.data)
    return h.hexdigest()


def training_fields(model: Any, **budget: Any) -> dict[str, Any] | None:
    """The cache fields of training a fresh copy of ``model`` (for ``trusted_cache.measure``).

    ``model`` is the model as *rebuilt on the trusted side* (``ModelObservation.model``:
    allow-list checked, safe mode); its config and compile config are serialized here by
    Keras, never taken from the worker's strings. ``budget``: everything else that decides
    the result (samples, epochs, batch size, a :func:`data_digest`...). None when the model
    is not compiled (nothing to key on: measure without the cache).
    """
    import json

    try:
        compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
        if not compile_config:
            return None
        config = json.loads(model.to_json())
        config.pop("compile_config", None)  # keyed below, once
        compile_config = json.loads(json.dumps(compile_config))
    except Exception:  # noqa: BLE001 - anything Keras cannot serialize is measured afresh
        return None
    optimizer = compile_config.get("optimizer")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):
        optimizer["config"].pop("name", None)  # "adam" or "adam_1": how many optimizers the worker made
    return {"model": canonical_names(config), "compile": compile_config, "budget": budget}


def canonical_names(config: dict[str, Any]) -> dict[str, Any]:
    """A model config with its layer and model names replaced by their position ("#0", "#1"...).

    Names are what the worker's Keras counted ("conv2d_3" when it had built models before),
    not architecture: two copies of one architecture get one key. Only names in name
    positions change: a layer's (and the model's) ``name``, the first item of a
    ``keras_history`` and the items of ``input_layers``/``output_layers`` (the functional
    graph's references to layers); nothing else (a dtype policy's ``name``, a metric's) is touched.
    """
    mapping: dict[str, str] = {}
    layer_dicts: set[int] = set()

    def collect(node: Any) -> None:
        cfg = node.get("config") if isinstance(node, dict) else None
        if not isinstance(cfg, dict) or not isinstance(cfg.get("name"), str):
            return
        layer_dicts.update((id(node), id(cfg)))
        mapping.setdefault(cfg["name"], f"#{len(mapping)}")
        for layer in cfg.get("layers") or []:
            collect(layer)

    collect(config)

    def names(node: Any) -> Any:  # a subtree made of layer references only
        if isinstance(node, str):
            return mapping.get(node, node)
        if isinstance(node, list):
            return [names(v) for v in node]
        return node

    def rename(node: Any) -> Any:
        if isinstance(node, list):
            return [rename(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "name" and isinstance(value, str) and id(node) in layer_dicts:
                out[key] = mapping.get(value, value)
            elif key in ("input_layers", "output_layers"):
                out[key] = names(value)
            elif key == "keras_history" and isinstance(value, list) and value and isinstance(value[0], str):
                out[key] = [mapping.get(value[0], value[0]), *value[1:]]
            else:
                out[key] = rename(value)
        return out

    return rename(config)


def cached_training(trusted_cache: Any, what: str, model: Any, compute: Any, *, code: Sequence[Any] = (),
                    encode: Any = None, decode: Any = None, **budget: Any) -> Any:
    """``compute()`` (training a fresh copy of ``model`` on the trusted side), once per
    architecture, compile settings and budget: see :mod:`grader.engine.cache`."""
    from dataclasses import asdict

    fields = training_fields(model, **budget) if trusted_cache is not None else None
    if fields is None:
        return compute()
    return trusted_cache.measure(what, fields, compute, code=code, encode=encode or asdict,
                                 decode=decode or (lambda v: v))
