"""A worker forked from the warm runner: student code starts with the heavy imports done.

Importing TensorFlow takes 2.5-3 s on a laptop CPU, and a submission that builds a Keras
model pays it in its worker on top of the trusted runner's own import. A runner forked
by :mod:`grader.warm` already has TensorFlow, Keras, numpy and pytest imported (nothing
*initialised*: no model, no session, no device). Before it reads the course or the
suite, it forks a **template** of itself here (:func:`fork_template`): a process that
holds nothing of the grading yet (no suite, no hidden test, no dataset) and blocks until
:class:`grader.sandbox.Sandbox` sends it the worker's setup. Then it becomes the worker
exactly as ``python -I -m grader.worker`` would (:func:`grader.worker.serve_confined`): own
session, only its three pipes open, the worker's environment and folder, confined before
any student code runs. ``import tensorflow`` in the student's cells then costs nothing.

Why a template forked this early and not a fork at the moment the worker is needed: by
then the runner has collected the suite (hidden tests and their expected values are
objects in its memory) and may hold test-set labels; a fork would hand all of it to the
student's code. The template's memory is the warm parent's plus this submission's request
(its paths), which the worker may know.

A runner without a template (``grader check``, ``grade_file`` called directly, a second
sandbox) starts its worker as a fresh interpreter, as before.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import psutil

from .confine import die_with_parent

PR_SET_NAME = 15


@dataclass
class Template:
    """The parent's end of a forked, waiting worker."""

    pid: int
    request_fd: int  # the parent writes setup and requests here
    reply_fd: int  # and reads replies here
    output_fd: int  # the worker's stdout and stderr


_template: Template | None = None
# search-path entries a ``python -I`` worker would not have; the warm parent fills it in
UNSAFE_PATHS: set[str] = set()


def set_process_name(name: str) -> None:
    """What ``ps``/``top`` show (``comm``): forked processes keep the warm parent's command line."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def detach(parent: int, name: str, output_fd: int) -> None:
    """First steps of a forked child: its own session, death with ``parent`` (or exit if that
    already died), a name for ``ps``, stdin from /dev/null, stdout and stderr to ``output_fd``."""
    os.setsid()
    die_with_parent()
    if os.getppid() != parent:
        os._exit(1)
    set_process_name(name)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)


def exit_after(body: Callable[[], int | None]) -> NoReturn:
    """Run ``body`` in a forked child, then end it as a fresh interpreter would: with the
    body's exit code, SystemExit's, or 1 and a traceback. The child never returns into the
    parent's code, whatever the body did to builtins or to ``os`` (student code runs in the
    worker's): the exit function is held from before it ran."""
    exit_now, code = os._exit, 1
    try:
        code = _run_as_main(body)
    except BaseException:  # noqa: BLE001, S110 - even reporting failed (e.g. print replaced)
        pass
    finally:
        exit_now(code)


def fork_template() -> None:
    """Fork the waiting worker of this runner. Call before anything of the grading is loaded."""
    global _template
    discard()
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    output_r, output_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing of the runner's buffered output may reach the worker's log
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; exercised through the batch tests
        exit_after(lambda: _become_worker(parent, request_r, reply_w, output_w))
    for fd in (request_r, reply_w, output_w):
        os.close(fd)
    _template = Template(pid, request_w, reply_r, output_r)


def _run_as_main(body: Callable[[], int | None]) -> int:
    """The exit code a fresh interpreter would give (SystemExit's code; 1 with a traceback)."""
    try:
        return body() or 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 - as the interpreter does: report and exit 1
        import traceback

        traceback.print_exc()
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - the student may have replaced or closed them
                pass


@contextmanager
def worker_template() -> Iterator[None]:
    """Fork the template for the grading inside the block; kill it if no sandbox took it."""
    fork_template()
    try:
        yield
    finally:
        discard()


def take() -> Template | None:
    """The template, once: the sandbox that takes it owns the process and its pipes."""
    global _template
    template, _template = _template, None
    return template


def discard() -> None:
    """Kill an unused template (a submission that never needed its worker)."""
    template = take()
    if template is None:
        return
    try:
        os.kill(template.pid, signal.SIGKILL)
        os.waitpid(template.pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    for fd in (template.request_fd, template.reply_fd, template.output_fd):
        try:
            os.close(fd)
        except OSError:
            pass


def _become_worker(parent: int, request_fd: int, reply_fd: int, output_fd: int) -> None:
    """In the forked child: shed the runner, wait for the setup, then serve as the worker."""
    detach(parent, "grader-worker", output_fd)
    keep = {0, 1, 2, request_fd, reply_fd}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    from .worker import _read_setup, serve_confined

    setup = _read_setup(request_fd)
    _take_on(setup)
    _blank_initial_environment()
    serve_confined(request_fd, reply_fd, setup)


def _take_on(setup: dict[str, Any]) -> None:
    """What a fresh ``python -I`` worker would have: its environment, folder and search path."""
    os.environ.clear()
    os.environ.update(setup.get("env", {}))
    tempfile.tempdir = None  # TMPDIR changed: the cached answer is the runner's
    sys.dont_write_bytecode = True
    os.chdir(setup["scratch"])
    # -I puts neither the start folder nor PYTHONPATH on the search path
    sys.path[:] = [p for p in sys.path if p and p not in UNSAFE_PATHS]


def _blank_initial_environment() -> None:
    """Zero the environment block the warm parent was started with (``/proc/self/environ``).

    ``os.environ`` is the worker's own by now; the original strings still sit on the stack,
    readable by the student's code, and libc no longer points at them.
    """
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (stat fields 50, 51)
        if 0 < start < end:
            ctypes.memset(start, 0, end - start)
    except (OSError, ValueError, IndexError):
        pass


class ForkedProcess(psutil.Process):
    """A forked child with the part of ``Popen``'s interface the sandbox uses (poll/wait)."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.returncode: int | None = None
        self._reap = threading.Lock()

    def poll(self) -> int | None:
        with self._reap:
            if self.returncode is None:
                try:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:  # reaped elsewhere: it is gone, how is unknown
                    self.returncode = -signal.SIGKILL
                    return self.returncode
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode

    def wait(self, timeout: float | None = None) -> int:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise psutil.TimeoutExpired(timeout, self.pid)
            time.sleep(0.01)
        return code
