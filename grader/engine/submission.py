"""The ``submission`` fixture: the trusted side's handle on a student's running code.

Every method sends a request to the worker (:mod:`grader.engine.sandbox`) and turns the reply
into plain data, a failed check with a message for the student, or :class:`WorkerLost`.
Models come back as config + weights and are rebuilt here with Keras' safe mode after an
allow-list check of the config (no Lambda, no custom or non-Keras classes), so no code of
the student's ever runs on this side.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import textwrap
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.expect import CheckFailed
from grader.engine.sandbox import Sandbox, WorkerLost
from grader.source.extract import missing_name_message

__all__ = ["Submission", "Outcome", "ModelObservation", "HistoryObservation", "SubmissionError", "WorkerLost",
           "GraderError", "clean_output"]

_HINTS = {
    "NameError": "graded cells run on their own, without the other cells of your notebook: "
                 "define or import everything a graded function uses inside graded cells",
    "ModuleNotFoundError": "only the course's packages are installed on the grader",
    "MemoryError": "your code needed more memory than the grader allows",
    "SystemExit": "don't call sys.exit()/exit() in graded code",
    "KeyboardInterrupt": "don't raise KeyboardInterrupt in graded code",
}
_DENIED_CLASSES = {"Lambda", "TFSMLayer"}


class SubmissionError(CheckFailed):
    """The student's code raised, is missing, or returned something that is not data."""


class GraderError(RuntimeError):
    """The suite's own code failed (a probe raised outside the student's code): not the
    student's fault, and never reported as "your code raised"."""


# ANSI escape sequences: CSI (colours, cursor moves), OSC (titles, links), two-byte escapes
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_NAME_ERROR = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


def clean_output(text: str) -> str:
    """What a terminal would show of ``text``: ANSI escapes removed, each line what is left
    after its last carriage return (Keras' progress bar redraws its line with ``\\r``), and
    backspaces applied. Output is cleaned before a message quotes it or a check compares it."""
    if not isinstance(text, str) or not text:
        return text
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            line = next((part for part in reversed(line.split("\r")) if part.strip()), "")
        if "\b" in line:
            kept: list[str] = []
            for char in line:
                if char == "\b":
                    if kept:
                        kept.pop()
                else:
                    kept.append(char)
            line = "".join(kept)
        lines.append(line)
    return "\n".join(lines)


@dataclass
class Outcome:
    value: Any
    stdout: str
    seconds: float


@dataclass
class ModelObservation:
    """A model as the worker described it; ``.model`` rebuilds it on the trusted side."""

    name: str
    config: dict
    weights: list[np.ndarray]
    compile_config: dict | None
    stdout: str = ""

    @cached_property
    def model(self) -> Any:
        """A ``keras.Model`` rebuilt from config (safe mode), weights set, compiled if it was."""
        import keras

        check_model_config(self.config, self.name)
        try:
            model = keras.models.model_from_json(json.dumps(self.config))
        except Exception as exc:  # noqa: BLE001 - any failure is the submission's
            raise CheckFailed(f"the model returned by {self.name} cannot be rebuilt from its config: {exc}") from None
        if self.weights:
            try:
                model.set_weights(self.weights)
            except Exception as exc:  # noqa: BLE001
                raise CheckFailed(f"the weights of the model returned by {self.name} do not fit its layers: {exc}") from None
        if self.compile_config and "error" not in self.compile_config:
            check_model_config(self.compile_config, self.name)
            try:
                model.compile_from_config(self.compile_config)
            except Exception as exc:  # noqa: BLE001
                raise CheckFailed(f"the compile settings of the model returned by {self.name} cannot be used: {exc}") from None
        return model

    @property
    def compiled(self) -> bool:
        return bool(self.compile_config) and "error" not in (self.compile_config or {})


@dataclass
class HistoryObservation:
    history: dict[str, list[float]]
    params: dict[str, Any]
    epoch: list[int]
    model_data: dict | None
    name: str
    stdout: str = ""

    @cached_property
    def model(self) -> ModelObservation | None:
        return _model_observation(self.model_data, self.name, "") if self.model_data else None


_FUNCTION_MODULES = ("builtins", "keras.losses", "keras.metrics", "keras.activations")

# TensorFlow's own spellings of Keras functions, as Keras 3 serializes them: a function that
# is not Keras' becomes {"module": "builtins", "class_name": "function", "config": NAME}.
# tf.nn.relu, tf.nn.sigmoid, tf.nn.tanh, tf.nn.gelu, ... already serialize as the Keras name
# ("relu"), and tf.nn.swish/silu as "swish" (a Keras function); these do not. Only functions
# known to compute exactly what the Keras one computes (same default axis) are listed;
# anything else stays refused by check_model_config.
TF_EQUIVALENTS = {
    "softmax_v2": "softmax",  # tf.nn.softmax, tf.math.softmax (axis=-1)
    "log_softmax_v2": "log_softmax",  # tf.nn.log_softmax, tf.math.log_softmax (axis=-1)
}


def keras_spellings(config: Any) -> Any:
    """``config`` with every TensorFlow function of :data:`TF_EQUIVALENTS` replaced by the
    Keras name (``activation=tf.nn.softmax`` reads as ``activation="softmax"``); nothing else
    changes. Runs on plain data, before :func:`check_model_config`."""
    if isinstance(config, dict):
        if (config.get("class_name") == "function" and config.get("module") == "builtins"
                and config.get("registered_name") in (None, "function")
                and isinstance(config.get("config"), str) and config["config"] in TF_EQUIVALENTS
                and set(config) <= {"module", "class_name", "config", "registered_name"}):
            return TF_EQUIVALENTS[config["config"]]
        return {k: keras_spellings(v) for k, v in config.items()}
    if isinstance(config, list):
        return [keras_spellings(v) for v in config]
    return config


def _keras_function(module: Any, fn_name: Any) -> bool:
    """A plain Keras function by name (``loss=keras.losses.sparse_categorical_crossentropy``
    serializes as ``{"module": "builtins", "class_name": "function", "config": "<name>"}``)."""
    if module not in _FUNCTION_MODULES or not isinstance(fn_name, str) or not fn_name.isidentifier():
        return False
    import keras

    return any(callable(getattr(ns, fn_name, None)) for ns in (keras.losses, keras.metrics, keras.activations))


def check_model_config(config: Any, name: str) -> None:
    """Refuse anything in a Keras config that is not a built-in Keras object."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            cls = node.get("class_name")
            module = node.get("module")
            if cls == "function" and _keras_function(module, node.get("config")):
                stack.extend(v for k, v in node.items() if k != "config")
                continue
            if isinstance(cls, str) and module is not None:
                if not isinstance(module, str) or not (module == "keras" or module.startswith("keras.")):
                    raise CheckFailed(f"the model returned by {name} uses {cls} from {module!r}: only built-in Keras layers can be graded")
                if cls in _DENIED_CLASSES or cls == "function" or node.get("registered_name") not in (None, cls):
                    raise CheckFailed(f"the model returned by {name} uses {cls} ({node.get('registered_name') or module}): "
                                      "custom layers, Lambda layers and custom functions can't be graded; use built-in Keras layers")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _model_observation(data: Any, name: str, stdout: str) -> ModelObservation:
    if not isinstance(data, dict) or not isinstance(data.get("config"), str):
        raise CheckFailed(f"{name} did not return a Keras model")
    try:
        config = keras_spellings(json.loads(data["config"]))
        compile_config = keras_spellings(json.loads(data["compile_config"])) if data.get("compile_config") else None
    except (TypeError, ValueError, RecursionError):
        raise CheckFailed(f"the model returned by {name} has an unreadable config") from None
    weights = data.get("weights") or []
    if not isinstance(weights, list) or not all(isinstance(w, np.ndarray) for w in weights):
        raise CheckFailed(f"the model returned by {name} has unreadable weights")
    return ModelObservation(name, config, weights, compile_config, stdout)  # stdout: cleaned by _ask


@dataclass
class Submission:
    """Proxy to the student's code; one per graded submission (pytest session scope)."""

    sandbox: Sandbox | None
    problems: list[str] = field(default_factory=list)  # from reading/selecting the code
    load_errors: list[dict] = field(default_factory=list)  # from running the graded cells
    unreadable: str | None = None  # the file could not be read at all
    names: list[str] = field(default_factory=list)
    memory_errors: int = 0  # MemoryError raised by the student's code (status "memory")

    def __post_init__(self) -> None:
        self.load_errors = [{k: clean_output(v) if isinstance(v, str) else v for k, v in e.items()}
                            if isinstance(e, dict) else e for e in self.load_errors]

    # ------------------------------------------------------------------ plumbing
    def _ask(self, request: dict, what: str) -> dict:
        if self.unreadable:
            raise SubmissionError(f"Not graded: {self.unreadable}")
        if self.sandbox is None:
            raise SubmissionError("Not graded: the submission could not be started")
        reply = self.sandbox.request(request)
        if reply.get("missing"):
            raise SubmissionError(self._missing_message(request.get("name", "?")))
        if "not_plain" in reply:
            if "builtins.ellipsis" in str(reply["not_plain"]):
                raise SubmissionError(f"{what} is still `...`: replace the stub with your answer")
            raise SubmissionError(
                f"{what} returned something the grader cannot read ({reply['not_plain']}); "
                "return numbers, strings, lists or numpy arrays"
            )
        if "wrong_type" in reply:
            raise SubmissionError(f"{what} should return {reply['wrong_type']}")
        if not reply.get("ok"):
            error = reply.get("error") or {}
            if request.get("op") == "probe" and isinstance(error, dict) and error.get("origin") == "probe":
                raise GraderError(
                    f"the grader's own check failed, not your code: its probe {request.get('func')}() raised "
                    f"{error.get('type', 'an error')}: {clean_output(str(error.get('message', '')))}"
                    + (f" ({error['where']})" if error.get("where") else "")
                    + ". This is a bug in the grading suite; tell your instructor (your score for this check "
                    "does not reflect your code).")
            if error.get("type") == "MemoryError":
                self.memory_errors += 1
            raise SubmissionError(self._error_message(what, error, reply.get("stdout", "")))
        if isinstance(reply.get("stdout"), str):
            reply["stdout"] = clean_output(reply["stdout"])
        return reply

    def _missing_message(self, name: str) -> str:
        unparsable = next((p for p in self.problems if p.startswith(f"`{name}` could not be read:")), None)
        if unparsable is not None:  # its cell has a syntax error (grader.source.extract said where)
            return unparsable
        cause = self._load_cause(name)
        if cause is not None:  # the statement that defines it raised when the cells were run
            return _because(name, cause)
        message = missing_name_message(name)
        related = [e for e in self.load_errors if e.get("type") != "NameError" or name in e.get("message", "")]
        if related:
            first = related[0]
            message += f" Running your {first['label']} failed: {first['type']}: {first['message']}"
            if first.get("where"):
                message += f" ({first['where']})"
        return message

    def _load_cause(self, name: str) -> dict | None:
        """The error that stopped a graded cell's statement defining ``name`` when the cells
        were run, followed back through NameErrors to the first failure (a cell that could
        not load its data leaves ``x_train`` undefined, then ``data_shape``...)."""
        seen = set()
        cause = None
        while name not in seen and len(seen) < 8:
            seen.add(name)
            hit = next((e for e in self.load_errors if isinstance(e, dict)
                        and name in str(e.get("defines", "")).split()), None)
            if hit is None:
                break
            cause = hit
            match = _NAME_ERROR.search(str(hit.get("message", ""))) if hit.get("type") == "NameError" else None
            if match is None:
                break
            name = match.group(1)
        return cause

    def _error_message(self, what: str, error: dict, stdout: str) -> str:
        kind = str(error.get("type", "Error"))
        text = clean_output(str(error.get("message", "")))
        message = f"{what} raised {kind}: {text}"
        if error.get("where"):
            message += f" ({clean_output(str(error['where']))})"
        match = _NAME_ERROR.search(text) if kind == "NameError" else None
        cause = self._load_cause(match.group(1)) if match else None
        if cause is not None:
            message += ". " + _because(match.group(1), cause)  # type: ignore[union-attr]
        elif kind in _HINTS:
            message += f". Hint: {_HINTS[kind]}"
        return message

    @staticmethod
    def _describe(name: str, args: tuple, kwargs: dict) -> str:
        return f"{name}(...)" if args or kwargs else f"{name}()"

    # ------------------------------------------------------------------ the suite's API
    def run(self, name: str, *args: Any, **kwargs: Any) -> Outcome:
        """Call ``name`` with plain-data arguments; the value, what it printed, and its time."""
        reply = self._ask({"op": "call", "name": name, "args": list(args), "kwargs": kwargs},
                          self._describe(name, args, kwargs))
        return Outcome(reply.get("value"), str(reply.get("stdout", "")), float(reply.get("seconds", 0.0)))

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``name`` and return its (plain data) value."""
        return self.run(name, *args, **kwargs).value

    def value(self, name: str) -> Any:
        """A module-level value of the submission, as plain data."""
        return self._ask({"op": "value", "name": name}, f"`{name}`").get("value")

    def defines(self, name: str) -> bool:
        if self.unreadable or self.sandbox is None:
            return False
        return bool(self.sandbox.request({"op": "defines", "name": name}).get("value"))

    def model(self, name: str, *args: Any, **kwargs: Any) -> ModelObservation:
        """Call a model factory; the model comes back as config + weights + compile config."""
        reply = self._ask({"op": "call", "name": name, "args": list(args), "kwargs": kwargs, "observe": "model"},
                          self._describe(name, args, kwargs))
        return _model_observation(reply.get("value"), name, str(reply.get("stdout", "")))

    def history(self, name: str, *args: Any, **kwargs: Any) -> HistoryObservation:
        """Call a training function that returns a keras History; get it as data."""
        reply = self._ask({"op": "call", "name": name, "args": list(args), "kwargs": kwargs, "observe": "history"},
                          self._describe(name, args, kwargs))
        data = reply.get("value")
        ok = isinstance(data, dict) and isinstance(data.get("history"), dict) and all(
            isinstance(v, list) and all(isinstance(x, float) for x in v) for v in data["history"].values()
        )
        if not ok:
            raise SubmissionError(f"{name} did not return a History (what model.fit returns)")
        return HistoryObservation(data["history"], dict(data.get("params") or {}), list(data.get("epoch") or []),
                                  data.get("model"), name, str(reply.get("stdout", "")))

    def probe(self, func: Any, *args: Any, helpers: Any = (), **kwargs: Any) -> Any:
        """Run ``func(ns, *args, **kwargs)`` in the worker and return its plain-data result.

        The probe's scope holds ``record_fit`` (:mod:`grader.worker.fit_recorder`: watch and cap the
        student's own ``Model.fit``) and, run first, the source of each of ``helpers``: modules
        of the suite (or paths of ``.py`` files next to it) whose functions several probes share.
        """
        source = textwrap.dedent(inspect.getsource(func))
        shipped = [_helper_source(h) for h in helpers]
        reply = self._ask({"op": "probe", "source": source, "func": func.__name__, "args": list(args), "kwargs": kwargs,
                           "helpers": shipped}, "your code")
        return reply.get("value")


def _because(name: str, cause: dict) -> str:
    """Why ``name`` is undefined: the graded cell that should have defined it failed."""
    text = (f"`{name}` is not defined because running your {cause.get('label', 'code')} failed: "
            f"{cause.get('type', 'Error')}: {cause.get('message', '')}")
    return text + (f" ({cause['where']})" if cause.get("where") else "")


def _helper_source(helper: Any) -> dict[str, str]:
    """A probe helper as the worker receives it: a module's (or a .py file's) name and source."""
    if isinstance(helper, (str, os.PathLike)):
        path = Path(helper)
        return {"name": path.stem, "source": path.read_text("utf-8")}
    return {"name": helper.__name__, "source": inspect.getsource(helper)}
