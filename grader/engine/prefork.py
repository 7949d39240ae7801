"""A worker forked from the warm runner: student code starts with the heavy imports done.

Importing TensorFlow takes 2.5-3 s on a laptop CPU, and a submission that builds a Keras
model pays it in its worker on top of the trusted runner's own import. A runner forked
by :mod:`grader.batch.slot` already has TensorFlow, Keras, numpy and pytest imported (nothing
*initialised*: no model, no session, no device). Before it reads the course or the
suite, it forks a **template** of itself here (:func:`fork_template`): a process that
holds nothing of the grading yet (no suite, no hidden test, no dataset) and blocks until
:class:`grader.engine.sandbox.Sandbox` sends it the worker's setup. Then it becomes the worker
exactly as ``python -I -m grader.worker.main`` would (:func:`grader.worker.main.serve_confined`): own
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

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

from grader.worker.template import become_worker, exit_after


@dataclass
class Template:
    """The parent's end of a forked, waiting worker."""

    pid: int
    request_fd: int  # the parent writes setup and requests here
    reply_fd: int  # and reads replies here
    output_fd: int  # the worker's stdout and stderr


_template: Template | None = None


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
        exit_after(lambda: become_worker(parent, request_r, reply_w, output_w))
    for fd in (request_r, reply_w, output_w):
        os.close(fd)
    _template = Template(pid, request_w, reply_r, output_r)


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
