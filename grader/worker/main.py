"""The worker: the only process where a student's code runs.

Started by :mod:`grader.engine.sandbox` as ``python -I -m grader.worker.main IN_FD OUT_FD``, or forked
from a warm runner (:mod:`grader.engine.prefork`, heavy modules already imported, nothing of the
grading loaded). Order matters and is the reason this module imports only the standard
library (and :mod:`grader.worker.protocol`, which is standard library only until an array
crosses) at the top:

1. read the setup frame (limits, paths to hide, uid) from the request pipe;
2. confine itself while still single-threaded (:func:`grader.worker.confine.confine`): network and
   mount namespaces, hidden course/output/data folders, another uid, resource limits;
3. only then import numpy, run the selected cells, and answer requests.

Everything here is *untrusted once student code has run*: the student can patch any of
it. That is fine by design: the trusted side only accepts plain data through
:mod:`grader.worker.protocol` and judges it itself; a forged answer is no better for the
student than what their own function could have returned.
"""

from __future__ import annotations

import ast
import io
import json
import linecache
import os
import sys
import time
import traceback
from typing import Any

from grader.worker import protocol

OUTPUT_CAPTURE = 256 * 1024  # characters of a call's stdout kept and sent back


class _Capture(io.TextIOBase):
    """Bounded stand-in for sys.stdout/stderr during a call (keeps the head and the end)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.tail = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        if self.size < OUTPUT_CAPTURE:
            keep = text[: OUTPUT_CAPTURE - self.size]
            self.parts.append(keep)
            self.size += len(keep)
            text = text[len(keep):]
        if text:
            self.dropped += len(text)
            self.tail = (self.tail + text)[-4096:]
        return len(text)

    def getvalue(self) -> str:
        value = "".join(self.parts)
        if self.dropped:
            value += f"\n[... {self.dropped} characters not shown ...]\n{self.tail}"
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "None (is a `return` missing?)"
    if value is Ellipsis:
        return "`...` (the stub is still there)"
    return f"a {type(value).__module__}.{type(value).__qualname__}"


REQUEST_LIMIT = 1 << 34  # the trusted side's requests carry the suite's inputs; it is trusted


def _read_setup(fd: int) -> dict:
    """The setup frame (:data:`grader.worker.protocol.SETUP_ID`), the first on the request pipe."""
    try:
        _, setup = protocol.read_frame(protocol.fd_reader(fd), expect_id=protocol.SETUP_ID, max_bytes=REQUEST_LIMIT)
    except (EOFError, protocol.ProtocolError):
        raise SystemExit(3) from None
    if not isinstance(setup, dict):
        raise SystemExit(3)
    return setup


def _where(tb: Any) -> str:
    """The innermost frame of the student's code (a ``<cell N>`` file), for the message."""
    place = ""
    for frame in traceback.extract_tb(tb):
        if frame.filename.startswith("<cell"):
            place = f"{frame.filename.strip('<>')}, line {frame.lineno}"
            if frame.line:
                place += f": {frame.line.strip()}"
    return place


def _error(exc: BaseException) -> dict:
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__
        message = "<unprintable>"
    return {"type": type(exc).__name__, "message": message[:2000], "where": _where(exc.__traceback__)}


def _probe_error(exc: BaseException) -> dict:
    """An exception out of a suite's probe: the student's when a frame of their cells is in
    its traceback, else the probe's own (a bug in the suite: ``origin`` says so)."""
    error = _error(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    if not any(f.filename.startswith("<cell") for f in frames):
        error["origin"] = "probe"
        own = [f for f in frames if f.filename == "<probe>"]
        if own:
            error["where"] = f"probe line {own[-1].lineno}" + (f": {own[-1].line.strip()}" if own[-1].line else "")
    return error


def _binds(stmt: ast.stmt) -> list[str]:
    """Module-level names a top-level statement would have bound had it run to its end
    (assignment and ``for``/``with`` targets, defs, classes, imports; not inside a def)."""
    names: set[str] = set()
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if node is not stmt:
                continue
            stack.extend([*node.decorator_list, *getattr(node, "bases", [])])
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        stack.extend(ast.iter_child_nodes(node))
    return sorted(names)


class Worker:
    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in, self.fd_out = fd_in, fd_out
        self.ns: dict[str, Any] = {"__name__": "__submission__", "__builtins__": __builtins__}
        self.seed_value = 0

    def seed(self) -> None:
        """The same seeds before every call: a student's own training grades the same each run."""
        import random

        random.seed(self.seed_value)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(self.seed_value % 2**32)
        if "keras" in sys.modules:
            try:
                sys.modules["keras"].utils.set_random_seed(self.seed_value % 2**32)
            except Exception:  # noqa: BLE001 - the student may have broken keras; not our problem
                pass

    # ------------------------------------------------------------------ running cells
    def load(self, units: list[dict]) -> dict:
        errors = []
        for unit in units:
            # tracebacks (and the messages built from them) can quote the student's line
            linecache.cache[unit["filename"]] = (len(unit["source"]), None,
                                                 unit["source"].splitlines(True), unit["filename"])
            try:
                tree = ast.parse(unit["source"], unit["filename"])
            except SyntaxError as exc:
                errors.append({"label": unit["label"], "type": "SyntaxError", "message": str(exc), "where": ""})
                continue
            ranges = unit["lines"]
            for stmt in tree.body:
                if ranges is not None and not any(a <= stmt.lineno <= b for a, b in ranges):
                    continue
                code = compile(ast.Module([stmt], type_ignores=[]), unit["filename"], "exec")
                out = _Capture()
                try:
                    sys.stdout = sys.stderr = out
                    exec(code, self.ns)  # noqa: S102 - this is the point of the worker
                except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
                    err = _error(exc)
                    err["label"] = unit["label"]
                    err["defines"] = " ".join(_binds(stmt))  # what later NameErrors may be about
                    errors.append(err)
                finally:
                    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        names = sorted(k for k in self.ns if not k.startswith("__"))
        return {"errors": errors, "names": names}

    # ------------------------------------------------------------------ observations
    def observe(self, value: Any, kind: str) -> Any:
        if kind == "model":
            return self.model_data(value)
        if kind == "history":
            return self.history_data(value)
        return self.plain(value)

    def plain(self, value: Any) -> Any:
        """Tensors become arrays; everything else must already be plain data."""
        if hasattr(value, "numpy") and type(value).__module__.startswith(("tensorflow", "keras")):
            value = value.numpy()
        if isinstance(value, (list, tuple)):
            converted = [self.plain(v) for v in value]
            return tuple(converted) if isinstance(value, tuple) else converted
        if isinstance(value, dict):
            return {k: self.plain(v) for k, v in value.items()}
        return value

    def model_data(self, model: Any) -> dict:
        import keras

        if not isinstance(model, keras.Model):
            raise TypeError(f"a Keras model, found {_kind(model)}")
        compile_config = None
        if getattr(model, "compiled", False) or getattr(model, "optimizer", None) is not None:
            try:
                compile_config = json.dumps(model.get_compile_config(), default=repr)
            except Exception as exc:  # noqa: BLE001 - report, don't crash
                compile_config = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        return {
            "config": model.to_json(),
            "weights": [w for w in model.get_weights()],
            "compile_config": compile_config,
            "built": bool(model.built),
        }

    def history_data(self, history: Any) -> dict:
        raw = getattr(history, "history", None)
        if not isinstance(raw, dict):
            raise TypeError(f"a keras History (what model.fit returns), found {_kind(history)}")
        data = {str(k): [float(x) for x in v] for k, v in raw.items()}
        params = {str(k): v for k, v in (getattr(history, "params", None) or {}).items()
                  if isinstance(v, (int, float, str, bool)) or v is None}
        epoch = [int(e) for e in (getattr(history, "epoch", None) or [])]
        model = getattr(history, "model", None)
        return {"history": data, "params": params, "epoch": epoch,
                "model": self.model_data(model) if model is not None else None}

    # ------------------------------------------------------------------ requests
    def call(self, request: dict) -> dict:
        name = request.get("name")
        if request["op"] == "probe":
            # worker side; it imports Keras only when a probe uses it
            from grader.worker.fit_recorder import record_fit

            scope: dict[str, Any] = {"__name__": "__probe__", "record_fit": record_fit}
            try:
                for helper in request.get("helpers") or []:  # the suite's shared probe code, run first
                    exec(compile(helper["source"], f"<probe helper {helper['name']}>", "exec"), scope)  # noqa: S102
                exec(compile(request["source"], "<probe>", "exec"), scope)  # noqa: S102
                target = scope[request["func"]]
            except Exception as exc:  # noqa: BLE001 - the suite's probe does not even load
                return {"ok": False, "error": dict(_error(exc), origin="probe"), "stdout": ""}
            args = [self.ns, *request.get("args", [])]
        else:
            if name not in self.ns:
                return {"ok": False, "missing": True}
            target = self.ns[name]
            if request["op"] == "value":
                return {"ok": True, "value": self.observe(target, request.get("observe", "data")), "stdout": "", "seconds": 0.0}
            args = request.get("args", [])
            if not callable(target):
                return {"ok": False, "error": {"type": "TypeError", "message": f"{name} is a {type(target).__name__}, not a function", "where": ""}}
        self.seed()
        out = _Capture()
        start = time.perf_counter()
        try:
            sys.stdout = sys.stderr = out
            value = target(*args, **request.get("kwargs", {}))
        except BaseException as exc:  # noqa: BLE001
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            error = _probe_error(exc) if request["op"] == "probe" else _error(exc)
            return {"ok": False, "error": error, "stdout": out.getvalue()}
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        seconds = time.perf_counter() - start
        try:
            observed = self.observe(value, request.get("observe", "data"))
        except TypeError as exc:  # the function ran but returned the wrong kind of thing
            return {"ok": False, "wrong_type": str(exc), "stdout": out.getvalue()}
        return {"ok": True, "value": observed, "stdout": out.getvalue(), "seconds": seconds}

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "load":
            return {"ok": True, "value": self.load(request["units"])}
        if op == "defines":
            return {"ok": True, "value": request["name"] in self.ns}
        if op in ("call", "value", "probe"):
            return self.call(request)
        return {"ok": False, "error": {"type": "ProtocolError", "message": f"unknown op {op!r}", "where": ""}}

    def serve(self) -> None:
        """Answer requests, each reply framed with its request's id, until goodbye or EOF."""
        read = protocol.fd_reader(self.fd_in)
        while True:
            try:
                request_id, request = protocol.read_frame(read, expect_id=None, max_bytes=REQUEST_LIMIT)
            except EOFError:
                return
            if request_id == protocol.BYE_ID or not isinstance(request, dict):
                return
            try:
                reply = self.handle(request)
            except BaseException as exc:  # noqa: BLE001
                reply = {"ok": False, "error": _error(exc)}
            try:
                data = protocol.pack_frame(request_id, reply)
            except protocol.NotPlainData as exc:
                data = protocol.pack_frame(request_id, {"ok": False, "not_plain": str(exc), "stdout": reply.get("stdout", "")})
            except BaseException as exc:  # noqa: BLE001 - e.g. a hostile __float__
                data = protocol.pack_frame(request_id, {"ok": False, "not_plain": f"could not be read: {type(exc).__name__}: {exc}"})
            protocol.write_all(self.fd_out, data)


def main() -> None:
    fd_in, fd_out = int(sys.argv[1]), int(sys.argv[2])
    serve_confined(fd_in, fd_out, _read_setup(fd_in))


def serve_confined(fd_in: int, fd_out: int, setup: dict) -> None:
    """Confine this process as ``setup`` says, report how, then answer requests until bye.

    Shared by a worker started as its own interpreter (:func:`main`) and one forked from a
    warm runner (:mod:`grader.engine.prefork`); never returns.
    """
    from grader.worker.confine import confine

    report = confine(setup)
    report["started"] = "forked from the warm runner" if setup.get("forked") else "fresh interpreter"
    # the worker's own imports, confined but before it says it is ready: a worker that cannot
    # even import numpy (a memory limit too small, a broken install) dies before its report,
    # which the trusted side records as the grader's failure, never the student's
    import numpy  # noqa: F401
    worker = Worker(fd_in, fd_out)
    worker.seed_value = int(setup.get("seed", 0))
    # first frame back: how the confinement went (the trusted side records it)
    protocol.write_all(fd_out, protocol.pack_frame(protocol.SETUP_ID, {"ok": True, "value": report}))
    worker.serve()
    os._exit(0)


if __name__ == "__main__":
    main()
