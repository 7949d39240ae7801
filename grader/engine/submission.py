"""The ``submission`` fixture: the trusted side's handle on a student's running code.

Every method sends a request to the worker (:mod:`grader.engine.sandbox`) and turns the reply
into plain data, a failed check with a message for the student, or :class:`WorkerLost`.
Models come back as config + weights and are rebuilt here with Keras' safe mode after
:mod:`grader.engine.model_policy` has checked the config (an allow-list of built-in Keras
classes and functions, compile settings stripped, a parameter/FLOP budget), so no code of
the student's ever runs on this side and no model outgrows the assignment's limits.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import textwrap
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.expect import CheckFailed
from grader.config import Limits
from grader.engine.model_policy import (
    PolicyError,
    check_budget,
    check_config,
    clean_compile_config,
    clean_model_config,
    estimate_cost,
    keras_spellings,
)
from grader.engine.sandbox import ProtocolBreach, Sandbox, WorkerLost, WorkerStartFailed
from grader.source.extract import missing_name_message

__all__ = ["Submission", "Outcome", "CheckCut", "ModelObservation", "HistoryObservation", "SubmissionError", "WorkerLost",
           "GraderError", "RestartFailed", "clean_output"]

_HINTS = {
    "NameError": "graded cells run on their own, without the other cells of your notebook: "
                 "define or import everything a graded function uses inside graded cells",
    "ModuleNotFoundError": "only the course's packages are installed on the grader",
    "MemoryError": "your code needed more memory than the grader allows",
    "SystemExit": "don't call sys.exit()/exit() in graded code",
    "KeyboardInterrupt": "don't raise KeyboardInterrupt in graded code",
}


class SubmissionError(CheckFailed):
    """The student's code raised, is missing, or returned something that is not data."""


class CheckCut(SubmissionError):
    """The worker was lost during this check (its time budget, a crash, a limit): this check
    fails with the reason, the next one gets a fresh worker."""

    def __init__(self, message: str, status: str, budget: bool) -> None:
        super().__init__(message)
        self.status = status  # WorkerLost's: timeout, memory, error...
        self.budget = budget  # stopped by the check's own time budget


def load_reply_ok(value: Any) -> bool:
    """The worker's answer to ``load`` has the shape the trusted side relies on."""
    if not isinstance(value, dict):
        return False
    errors, names = value.get("errors", []), value.get("names", [])
    return (isinstance(errors, list) and all(isinstance(e, dict) and all(isinstance(v, str) for v in e.values()) for e in errors)
            and isinstance(names, list) and all(isinstance(n, str) for n in names))


class RestartFailed(RuntimeError):
    """A fresh worker after a lost check could not be started, or running the cells in it took
    longer than the grader allows: the grader's failure, not a verdict on the student's code
    (every later check is a grader error, and the row is regraded on resume)."""


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
    # the assignment's budget ([limits] max_params, max_flops); None: no limit
    max_params: int | None = Limits.max_params
    max_flops: int | None = Limits.max_flops

    @cached_property
    def model(self) -> Any:
        """A ``keras.Model`` rebuilt from config (safe mode), weights set, compiled if it was.

        Nothing of the worker's description is taken on faith (:mod:`grader.engine.model_policy`):
        the config must name only allow-listed Keras classes and functions, the compile settings
        it embeds are dropped, its size is worked out from the config and held to the budget
        before Keras allocates anything, and the model is compiled from the allow-listed
        compile fields only."""
        import keras

        check_config(self.config, self.name, error=CheckFailed, model=True)
        config = clean_model_config(self.config)
        check_budget(estimate_cost(config), self.max_params, self.max_flops, self.name, error=CheckFailed)
        try:
            model = keras.models.model_from_json(json.dumps(config))
        except Exception as exc:  # noqa: BLE001 - any failure is the submission's
            raise CheckFailed(f"the model returned by {self.name} cannot be rebuilt from its config: {exc}") from None
        if self.weights:
            try:
                model.set_weights(self.weights)
            except Exception as exc:  # noqa: BLE001
                raise CheckFailed(f"the weights of the model returned by {self.name} do not fit its layers: {exc}") from None
        if self.compiled:
            try:
                compile_config = self.safe_compile_config
            except CheckFailed:
                if not self._only_loss_weights_refused():
                    raise
                # Keras 2's compile("adam", loss, ["accuracy"]) puts the metrics in loss_weights:
                # the architecture is still graded (left uncompiled); compile_problems names
                # the mistake, and training from these settings refuses them
                return model
            try:
                model.compile_from_config(compile_config)
            except Exception as exc:  # noqa: BLE001
                raise CheckFailed(f"the compile settings of the model returned by {self.name} cannot be used: {exc}") from None
        return model

    def _only_loss_weights_refused(self) -> bool:
        if not isinstance(self.compile_config, dict) or "loss_weights" not in self.compile_config:
            return False
        try:
            clean_compile_config({k: v for k, v in self.compile_config.items() if k != "loss_weights"}, self.name)
        except PolicyError:
            return False
        return True

    @property
    def compiled(self) -> bool:
        return bool(self.compile_config) and "error" not in (self.compile_config or {})

    @cached_property
    def safe_compile_config(self) -> dict | None:
        """The compile settings a trusted-side Keras may be given (``compile_from_config``):
        the allow-listed fields of :attr:`compile_config` only (no ``run_eagerly``...), each
        checked; None when the model was not compiled. ``compile_config`` itself is the
        student's, to be read as data (``grader.checks.models.compile_problems``)."""
        if not self.compiled:
            return None
        return clean_compile_config(self.compile_config, self.name, error=CheckFailed)


@dataclass
class HistoryObservation:
    history: dict[str, list[float]]
    params: dict[str, Any]
    epoch: list[int]
    model_data: dict | None
    name: str
    stdout: str = ""
    limits: Limits | None = None  # the assignment's: the budget its model is held to

    @cached_property
    def model(self) -> ModelObservation | None:
        return _model_observation(self.model_data, self.name, "", self.limits) if self.model_data else None


def _model_observation(data: Any, name: str, stdout: str, limits: Limits | None = None) -> ModelObservation:
    """The worker's description of a model, read as data; ``limits``: the assignment's (its
    ``max_params``/``max_flops`` budget the model is held to when rebuilt), default ones if None."""
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
    limits = limits or Limits()
    return ModelObservation(name, config, weights, compile_config, stdout,  # stdout: cleaned by _ask
                            max_params=limits.max_params, max_flops=limits.max_flops)


@dataclass
class Submission:
    """Proxy to the student's code; one per graded submission (pytest session scope)."""

    sandbox: Sandbox | None
    problems: list[str] = field(default_factory=list)  # from reading/selecting the code
    load_errors: list[dict] = field(default_factory=list)  # from running the graded cells
    unreadable: str | None = None  # the file could not be read at all
    names: list[str] = field(default_factory=list)
    memory_errors: int = 0  # MemoryError raised by the student's code (status "memory")
    limits: Limits = field(default_factory=Limits)  # the assignment's; models are held to its max_params/max_flops
    units: list[dict] | None = None  # the graded cells, run again in each fresh worker
    load_seconds: float = 0.0  # how long running them took the first time
    # checks whose worker was lost (their budget, a crash, a limit), in order:
    # {"check", "status", "message", "budget"}; each next check got a fresh worker
    cut: list[dict] = field(default_factory=list)
    lost: WorkerLost | None = None  # the worker is gone for good (the submission's time is up)
    check: str = ""  # the check now running (set by grader.engine.plugin)
    budget: float | None = None  # seconds of worker time it may use
    _used: float = 0.0  # of which used
    _stale: bool = False  # the worker must be replaced before the next request
    _served: int = 0  # requests the current worker answered after its load
    _hidden: bool = False  # the hidden checks have begun
    restart_failed: RestartFailed | None = None  # a fresh worker could not be had (every later check: grader error)

    def __post_init__(self) -> None:
        self.load_errors = [{k: clean_output(v) if isinstance(v, str) else v for k, v in e.items()}
                            if isinstance(e, dict) else e for e in self.load_errors]

    # ------------------------------------------------------------------ checks
    def begin_check(self, name: str, hidden: bool, budget: float | None) -> None:
        """A check starts: its own time budget; the first hidden check gets a worker that never
        served a public one (anything the student's code recorded there is gone, and nothing a
        hidden check sends can reach a public check's message: public checks run first)."""
        self.check, self.budget, self._used = name, budget, 0.0
        if hidden and not self._hidden:
            self._hidden = True
            self._stale = self._stale or self._served > 0

    @property
    def stopped(self) -> tuple[str, str] | None:
        """(status, message) when the worker was stopped other than in a check that paid for
        it (:attr:`cut`): the submission's time limit, a failed restart, a kill between checks."""
        if self.lost is not None:
            return self.lost.status, str(self.lost)
        box = self.sandbox
        if box is not None and box.reason is not None and not self._stale:
            return box.reason
        return None

    def _request(self, request: dict, what: str) -> dict:
        """One request within the current check's budget; a lost worker becomes :class:`CheckCut`
        (the next request starts a fresh worker), or :class:`WorkerLost` once time is up."""
        box = self.sandbox
        assert box is not None
        if self.lost is not None:
            raise self.lost
        if self._stale:
            self._renew()
        box.check_budget = self.budget
        start = time.monotonic()
        if self.budget is not None:
            box.check_deadline = start + max(0.0, self.budget - self._used)
        try:
            reply = box.request(request)
        except WorkerLost as exc:
            raise self._cut(exc, what) from None
        finally:
            self._used += time.monotonic() - start
            box.check_deadline = None
        self._served += 1
        return reply

    def _cut(self, exc: WorkerLost, what: str) -> Exception:
        box = self.sandbox
        assert box is not None
        budget = box.check_cut
        if (isinstance(exc, ProtocolBreach) or (exc.status == "timeout" and not budget) or box.time_left() <= 0
                or self.units is None):
            self.lost = exc  # the submission's own limit: nothing more can run
            return exc
        self.cut.append({"check": self.check, "status": exc.status, "message": str(exc), "budget": budget})
        self._stale = True
        lead = f"while running {what}," if what != "your code" else "while this check ran your code,"
        text = f"{lead} your code {exc}"
        if budget:
            text += " (an infinite loop, or far slower than it should be?)"
        return CheckCut(text + ". This check was stopped there; the other checks ran on a fresh start of your code.",
                        exc.status, budget)

    def _renew(self) -> None:
        """A fresh worker forked from the zygote, the graded cells run again in it.

        The grader chose to restart, so none of it counts against the student's time limit:
        ending the old worker (its processes, a fork bomb's included, must be gone first) is
        the grader's time, and the cells get twice the time they took the first time (at
        least 10 s: its own imports where no warm zygote has them, a busy machine). A restart
        that fails for the grader's reasons (no fresh worker, or the cells past that
        allowance: the machine, or code that runs slower the second time; either way no
        verdict on the student) is a grader error for this check and every later one
        (:class:`RestartFailed`); what the cells do again (a crash, a limit) is the student's."""
        box = self.sandbox
        assert box is not None and self.units is not None
        if self.restart_failed is not None:
            raise self.restart_failed
        allowance = max(10.0, 2.0 * self.load_seconds)
        try:
            box.retire_worker()
            with box.uncounted(allowance, "running your cells again in a fresh worker (twice their first run)"):
                box.fresh_worker()
                loaded = box.request({"op": "load", "units": self.units})
                if box.reason is not None:  # it answered, then the allowance ran out before its clock stopped
                    raise WorkerLost(*box.reason)
        except WorkerStartFailed as exc:
            self.restart_failed = RestartFailed(f"no fresh worker could be started: {exc}")
            raise self.restart_failed from None
        except WorkerLost as exc:
            if exc.status == "timeout" and not isinstance(exc, ProtocolBreach):
                self.restart_failed = RestartFailed(f"the fresh worker {exc}")
                raise self.restart_failed from None
            self.lost = WorkerLost(exc.status, f"{exc} while its cells were run again in a fresh worker")
            raise self.lost from None
        self._stale, self._served = False, 0
        if not load_reply_ok(loaded.get("value")):
            box.kill(("error", "broke the grading protocol (a malformed answer)"))
            self.lost = WorkerLost(*box.reason)  # type: ignore[misc]
            raise self.lost

    # ------------------------------------------------------------------ plumbing
    def _ask(self, request: dict, what: str) -> dict:
        if self.unreadable:
            raise SubmissionError(f"Not graded: {self.unreadable}")
        if self.sandbox is None:
            raise SubmissionError("Not graded: the submission could not be started")
        reply = self._request(request, what)
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
        return bool(self._request({"op": "defines", "name": name}, f"`{name}`").get("value"))

    def model(self, name: str, *args: Any, **kwargs: Any) -> ModelObservation:
        """Call a model factory; the model comes back as config + weights + compile config."""
        reply = self._ask({"op": "call", "name": name, "args": list(args), "kwargs": kwargs, "observe": "model"},
                          self._describe(name, args, kwargs))
        return _model_observation(reply.get("value"), name, str(reply.get("stdout", "")), self.limits)

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
                                  data.get("model"), name, str(reply.get("stdout", "")), self.limits)

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
