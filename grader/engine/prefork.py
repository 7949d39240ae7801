"""A worker forked from the warm runner: student code starts with the heavy imports done.

Importing TensorFlow takes 2.5-3 s on a laptop CPU, and a submission that builds a Keras
model pays it in its worker on top of the trusted runner's own import. A runner forked
by :mod:`grader.batch.slot` already has TensorFlow, Keras, numpy and pytest imported (nothing
*initialised*: no model, no session, no device). Before it reads the course or the
suite, it forks a **template** of itself here (:func:`fork_template`): a *zygote* that
holds nothing of the grading yet (no suite, no hidden test, no dataset) and blocks until
:class:`grader.engine.sandbox.Sandbox` sends it the worker's setup. Then, for each request of
the sandbox, it forks a worker that becomes what ``python -I -m grader.worker.main`` would
(:func:`grader.worker.main.serve_confined`): own session, only its three pipes open, the
worker's environment and folder, confined before any student code runs. ``import
tensorflow`` in the student's cells then costs nothing, and a second worker (after a check
lost the first, or for the hidden checks) costs a fork and a new run of the cells.

Why a template forked this early and not a fork at the moment the worker is needed: by
then the runner has collected the suite (hidden tests and their expected values are
objects in its memory) and may hold test-set labels; a fork would hand all of it to the
student's code. The template's memory is the warm parent's plus this submission's request
(its paths), which the worker may know.

A runner without a template (``grader check``, ``grade_file`` called directly, a second
sandbox) starts a zygote as a fresh interpreter (:meth:`Zygote.cold`): nothing imported.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from grader.worker.template import SETUP_BYTES, become_zygote, exit_after

# Children of this process that one object here waits for (zygotes, workers): nobody else may
# reap them (:func:`grader.engine.sandbox` reaps re-parented orphans, never these). Until its
# owner reaps it, a child's pid cannot be taken by another process, so signalling it is safe;
# after that the same number may be any process of the machine, which a grader running as
# root could kill: every kill here checks "not reaped yet" first.
OWNED: set[int] = set()


class ZygoteLost(OSError):
    """The zygote is gone or did not fork a worker."""


class Zygote:
    """The parent's end of a clean, waiting process that forks one worker per request.

    Forked from a warm runner by :func:`fork_template` (TensorFlow already imported), or
    started as ``python -I -m grader.worker.template`` by :meth:`cold` (nothing imported).
    It receives the setup once (:meth:`send_setup`); each :meth:`spawn` hands it the three
    pipe ends of a new worker over a Unix socket and gets the worker's pid back. The worker
    is forked through a middle process that exits at once, so it is adopted by this process
    (a child subreaper, :func:`grader.worker.libc.become_subreaper`) and reaped here.
    """

    def __init__(self, pid: int, channel: socket.socket, proc: subprocess.Popen | None = None) -> None:
        self.pid = pid
        self.channel = channel
        self._proc = proc  # a cold zygote's Popen (reaped through it)
        self.forked = proc is None
        OWNED.add(pid)

    @classmethod
    def cold(cls, env: dict[str, str]) -> Zygote:
        """A zygote as a fresh interpreter: for a runner without a template."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-m", "grader.worker.template", str(theirs.fileno())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),), cwd="/", env=env,
            )
        finally:
            theirs.close()
        return cls(proc.pid, ours, proc)

    def send_setup(self, setup: dict) -> None:
        payload = json.dumps(setup).encode()
        if len(payload) > SETUP_BYTES:
            raise ZygoteLost(f"the worker's setup is {len(payload)} bytes, more than {SETUP_BYTES}")
        self.channel.sendall(payload)

    def spawn(self, request_fd: int, reply_fd: int, output_fd: int, seconds: float = 30.0) -> int:
        """Fork a worker on these pipe ends (the caller closes its copies); its pid."""
        try:
            socket.send_fds(self.channel, [b"spawn"], [request_fd, reply_fd, output_fd])
            self.channel.settimeout(seconds)
            answer = self.channel.recv(64)
        except OSError as exc:
            raise ZygoteLost(f"the zygote did not answer: {exc}") from None
        finally:
            self.channel.settimeout(None)
        pid = int(answer) if answer.isdigit() else 0
        if pid <= 0:
            raise ZygoteLost("the zygote could not fork a worker" if answer else "the zygote is gone")
        try:
            if psutil.Process(pid).ppid() != os.getpid():
                raise ZygoteLost(f"worker {pid} was not adopted by the grading process (not a subreaper?)")
        except psutil.NoSuchProcess:
            pass  # died already: reaped (and explained) by the sandbox
        return pid

    def close(self) -> None:
        """Hang up and kill the zygote (it holds nothing; no goodbye is needed). Killed only
        while it is not reaped: after that its pid may be any process of the machine."""
        try:
            self.channel.close()
        except OSError:
            pass
        try:
            if self._proc is not None:
                if self._proc.poll() is None:  # not reaped: the pid is still the zygote's
                    self._proc.kill()
                self._proc.wait(timeout=5)
            else:
                if os.waitpid(self.pid, os.WNOHANG)[0] == 0:  # not reaped (nor ended)
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
        except (ChildProcessError, ProcessLookupError, subprocess.TimeoutExpired):
            pass
        finally:
            OWNED.discard(self.pid)


_template: Zygote | None = None


def fork_template() -> None:
    """Fork the zygote of this runner. Call before anything of the grading is loaded."""
    global _template
    discard()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing of the runner's buffered output may reach the worker's log
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; exercised through the batch tests
        exit_after(lambda: become_zygote(parent, theirs.fileno()))
    theirs.close()
    _template = Zygote(pid, ours)


@contextmanager
def worker_template() -> Iterator[None]:
    """Fork the zygote for the grading inside the block; kill it if no sandbox took it."""
    fork_template()
    try:
        yield
    finally:
        discard()


def take() -> Zygote | None:
    """The zygote, once: the sandbox that takes it owns the process and its socket."""
    global _template
    template, _template = _template, None
    return template


def discard() -> None:
    """Kill an unused zygote (a submission that never needed its worker)."""
    template = take()
    if template is not None:
        template.close()


class ForkedProcess(psutil.Process):
    """A forked child with the part of ``Popen``'s interface the sandbox uses (poll/wait)."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.returncode: int | None = None
        self._reap = threading.Lock()
        OWNED.add(pid)

    def poll(self) -> int | None:
        with self._reap:
            if self.returncode is None:
                try:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:  # reaped elsewhere (a bug): it is gone, how is unknown
                    self.returncode = -signal.SIGKILL
                    OWNED.discard(self.pid)
                    return self.returncode
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
                    OWNED.discard(self.pid)
            return self.returncode

    def kill_group(self) -> None:
        """SIGKILL its process group (the worker's session), only while it is not reaped: the
        pid, and so the group's number, is then still this process's."""
        with self._reap:
            if self.returncode is None:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def wait(self, timeout: float | None = None) -> int:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise psutil.TimeoutExpired(timeout, self.pid)
            time.sleep(0.01)
        return code
