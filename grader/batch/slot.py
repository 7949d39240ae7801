"""A warm parent per batch slot: import the heavy modules once, fork a runner per submission.

``python -m grader.batch.slot BATCH_PID SETTINGS_JSON`` is started by :mod:`grader.batch.batch`, one
per parallel slot. It imports the grader, pytest and the course's ``preload`` modules
(TensorFlow, Keras, numpy by default: 2.5-3 s on a laptop CPU) and then, for each request
request on its stdin, forks a **fresh trusted runner** (:func:`grader.batch.runner.run`), reports
its pid, waits for it and reports its exit code. The warm parent never reads a request: it
waits for the first byte of a line, forks, and the runner reads its own request from the
shared stdin (:func:`read_request`). Every later runner, template and worker is forked from
the warm parent, so none of them ever had another submission's request (its path: often the
student's name or id; its output folder) in its address space. It never runs TensorFlow itself (no model,
no session, no device query), so every fork starts from a clean, fork-safe state; a
runner that crashes TensorFlow takes only itself down, as a fresh interpreter would.

The runner forks its worker's template first thing (:mod:`grader.engine.prefork`), so student
code that imports TensorFlow finds it imported, too.

The same process serves ``grader.check`` in a notebook (:mod:`grader.student.check`):
started by the kernel at its first check, it forks a fresh runner per check (its entry
is :func:`grader.student.check._child_main`) and dies with the kernel.

The warm parent is a *child subreaper*: when a runner is killed (its time, its memory, a
crash), what it had forked (its worker's template, a worker, that worker's PID-namespace
waiter) is re-parented here, not to the machine's PID 1, which in a container may be a
process that never reaps (a shell, an API server): their zombies would stay, and each
counts against the next worker's task limit on that uid. This process has one child of its
own at a time, the runner it waits for, so any other child it reaps is such an orphan; it
reaps them while it waits for the runner and, between requests, once a second.

Lines on the protocol are JSON: ``{"pid": N}`` when a runner starts, ``{"pid": N,
"exit": CODE}`` when it ended (negative: killed by that signal). The batch side is
:class:`WarmParent`.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from grader.worker import template
from grader.worker.libc import become_subreaper, die_with_parent, set_process_name

ENTRY = "grader.batch.runner:run"  # a batch slot's runners grade and write the result files
START_SECONDS = 600.0  # for the first request: the imports happen before it is read
ORPHAN_SWEEP_SECONDS = 1.0  # between requests: how often the warm parent reaps a killed runner's orphans
WATCH_SECONDS = 0.2  # how often the batch looks at a runner's resident set (its RLIMIT_DATA stops a sudden one)
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# --------------------------------------------------------------------------- the warm parent
def preload(modules: list[str]) -> list[str]:
    """Import ``modules``; return the problems (a failed preload is imported later, or fails there).

    Keras reads its configuration (``keras.json``) once, at import: it is imported with an
    empty ``KERAS_HOME`` so that the grading machine's own Keras settings reach neither
    the runner nor the forked worker (a fresh worker always had an empty one).
    """
    import importlib

    problems = []
    saved = os.environ.get("KERAS_HOME")
    with tempfile.TemporaryDirectory(prefix="grader-keras-home-") as home:
        os.environ["KERAS_HOME"] = home
        try:
            for name in modules:
                try:
                    importlib.import_module(name)
                except Exception as exc:  # noqa: BLE001 - report, carry on
                    problems.append(f"preload {name}: {type(exc).__name__}: {exc}")
        finally:
            if saved is None:
                os.environ.pop("KERAS_HOME", None)
            else:
                os.environ["KERAS_HOME"] = saved
    return problems


def _send(fd: int, message: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())


def read_request(first: bytes, fd: int = 0) -> dict[str, Any]:
    """The rest of the request line whose first byte the warm parent read, from ``fd``.

    Byte by byte, unbuffered: not one byte past the newline leaves the pipe, so the next
    request stays there for the next runner (the warm parent waits for this one to end)."""
    line = bytearray(first)
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return json.loads(bytes(line))


def _runner_child(first: bytes, parent: int, protocol_fd: int, entry: Callable[[dict], int]) -> NoReturn:
    """In the forked runner: its own request from stdin, own session (the batch kills the
    runner's whole group on a timeout), its log as stdout/stderr, grade, exit."""

    def body() -> int:
        os.close(protocol_fd)
        request = read_request(first)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        template.detach(parent, "grader-runner", log)
        os.close(log)
        return entry(request)

    template.exit_after(body)


def main() -> int:
    die_with_parent()  # first: a batch killed meanwhile must take us along
    batch = int(sys.argv[1])
    if os.getppid() != batch:
        return 1
    settings = json.loads(sys.argv[2])
    set_process_name("grader-warm")
    protocol_fd = os.dup(1)  # the protocol's own descriptor; stray prints go to the log
    os.dup2(2, 1)
    template.UNSAFE_PATHS.update([sys.path[0], *os.environ.get("PYTHONPATH", "").split(os.pathsep)])
    template.UNSAFE_PATHS.discard("")
    cores = settings.get("cores")
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    for problem in preload(list(settings.get("preload", []))):
        print(problem, file=sys.stderr)
    # what each forked runner runs: a batch's grading (grader.batch.runner:run) or
    # grader.check's (grader.student.check:_child_main). Named by the trusted process that
    # started this one, imported here once with the engine it uses, for every fork; by name,
    # so that this room imports nothing of the rooms above it (docs/ARCHITECTURE.md).
    module, _, function = settings.get("entry", ENTRY).partition(":")
    entry = getattr(importlib.import_module(module), function)
    import grader.checks  # noqa: F401 - what suites import
    import grader.datasets  # noqa: F401
    import grader.worker.confine  # noqa: F401 - with the seccomp library, found once (ldconfig), not per worker

    become_subreaper()  # a killed runner's orphans come here (the module's docstring)
    # never sys.stdin (it buffers ahead): one byte, the start of the next request line, or
    # the end of the batch; the runner forked below reads the rest (read_request)
    while True:
        if not select.select([0], [], [], ORPHAN_SWEEP_SECONDS)[0]:
            reap_orphans()
            continue
        first = os.read(0, 1)
        if not first:
            break
        sys.stdout.flush()
        sys.stderr.flush()
        me = os.getpid()
        pid = os.fork()
        if pid == 0:
            _runner_child(first, me, protocol_fd, entry)
        _send(protocol_fd, {"pid": pid})
        status = wait_runner(pid)
        _send(protocol_fd, {"pid": pid, "exit": os.waitstatus_to_exitcode(status)})
        reap_orphans()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # nothing to finalize, and tearing TensorFlow's modules down takes a second


def wait_runner(pid: int) -> int:
    """Wait for the runner ``pid``, this process's only child of its own, and return its wait
    status; any other child that ends meanwhile is an orphan of an earlier runner, reaped."""
    while True:
        done, status = os.waitpid(-1, 0)
        if done == pid:
            return status


def reap_orphans() -> None:
    """Reap every child that has ended (no runner runs: each is a killed runner's orphan)."""
    while True:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # no child at all
            return
        if done == 0:
            return


def _pidfd(pid: int) -> int | None:
    """A pidfd of ``pid`` (readable once it has ended), or None if it is gone already."""
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


# --------------------------------------------------------------------------- the batch's side
# The warm parent's memory is copied into every worker forked below it, so its environment
# holds only what grading needs: never the grading server's tokens or keys.
ENV_NAMES = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "PYTHONPATH", "LD_LIBRARY_PATH",
             "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
             "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}
ENV_PREFIXES = ("GRADER_", "KERAS_", "TF_", "XLA_", "CUDA_", "NVIDIA_", "LC_", "OMP_", "MKL_", "OPENBLAS_")


def trusted_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The variables of ``environ`` that the grading needs (data, devices, locale, paths)."""
    return {k: v for k, v in environ.items() if k in ENV_NAMES or k.startswith(ENV_PREFIXES)}


class WarmParent:
    """The batch's handle on one slot's warm parent; started on first use, restarted if it dies."""

    def __init__(self, slot: int, cores: list[int] | None, preload_modules: list[str], logs: Path,
                 entry: str = "") -> None:
        self.slot, self.cores, self.preload = slot, cores, list(preload_modules)
        self.entry = entry or ENTRY  # "module:function" each forked runner calls with its request
        self.logs = logs
        self.proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self.stopped: str | None = None  # why the last run's runner was stopped: "timeout", "memory"
        self.peak = 0  # the largest resident set of the last run's runner seen (bytes; 0: not watched)
        self._over = False

    @property
    def runner_log(self) -> Path:
        return self.logs / f"runner-{self.slot}.log"

    @property
    def own_log(self) -> Path:
        return self.logs / f"warm-{self.slot}.log"

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        threads = str(len(self.cores)) if self.cores else str(os.cpu_count() or 1)
        env = trusted_environment(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # read by the numeric libraries when they load, i.e. once, here
        for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[key] = threads
        settings = {"cores": self.cores, "preload": self.preload, "entry": self.entry}
        with open(self.own_log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "grader.batch.slot", str(os.getpid()), json.dumps(settings)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, start_new_session=True, env=env,
            )
        self._buffer = b""

    def run(self, request: dict[str, Any], timeout: float, memory: int | None = None) -> tuple[int | None, str]:
        """Grade ``request`` in a forked runner: (its exit code, or None if it was stopped; its log's end).

        Stopped at ``timeout`` seconds (:attr:`stopped` = "timeout"), or as soon as the runner's
        resident set passes ``memory`` bytes (its own, not its worker's: the sandbox watches
        that one): :attr:`stopped` = "memory". :attr:`peak` is the largest resident set seen."""
        request = dict(request, log=str(self.runner_log))
        self.stopped, self.peak = None, 0
        started = None
        for _attempt in range(2):  # a warm parent that died is started again, once
            self.start()
            assert self.proc is not None and self.proc.stdin is not None
            try:
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._stop()
                continue
            started = self._read(START_SECONDS)
            if started is not None:
                break
            self._stop()
        if started is None:
            raise RuntimeError(f"the slot's warm parent did not start a runner: {_tail(self.own_log)}")
        pid = int(started["pid"])
        runner = _pidfd(pid)  # the runner is the warm parent's child, not ours: its pidfd says when it ends
        watch = None
        if memory:
            def watch() -> bool:
                rss = _resident(pid)
                self.peak = max(self.peak, rss)
                return rss > memory
        try:
            ended = self._read(timeout, watch)
            if ended is None and self.proc is not None and self.proc.poll() is None:  # too long or too big: stop it
                self.stopped = "memory" if self._over else "timeout"
                if runner is not None and not select.select([runner], [], [], 0)[0]:
                    # still running, so its number is still its own (ended, the warm parent may
                    # have reaped it, and the number may be any process's: never killed by number)
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        finally:
            if runner is not None:
                os.close(runner)
        if ended is None and self.stopped is not None:
            if self._read(60) is None:
                self._stop()
            return None, _tail(self.runner_log)
        if ended is None:  # the warm parent itself died; its runner died with it
            self._stop()
            return -signal.SIGKILL, _tail(self.runner_log) or _tail(self.own_log)
        return int(ended["exit"]), _tail(self.runner_log)

    def _read(self, seconds: float, watch: Callable[[], bool] | None = None) -> dict[str, Any] | None:
        """The next protocol line, or None at the deadline, when the warm parent is gone, or
        when ``watch()`` (called every :data:`WATCH_SECONDS`) says stop (:attr:`_over`)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + seconds
        self._over = False
        while b"\n" not in self._buffer:
            if watch is not None and watch():
                self._over = True
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], min(left, WATCH_SECONDS if watch is not None else 1.0))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self.proc = None

    def close(self) -> None:
        """End of the batch: closing stdin lets the warm parent exit; then make sure of it."""
        self.release()
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._stop()

    def release(self) -> None:
        """Tell the warm parent there is no more work (it exits at once); :meth:`close` waits."""
        if self.proc is not None and self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass


def _resident(pid: int) -> int:
    """Bytes of ``pid``'s resident set (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line for line in text.strip().splitlines()[-lines:])


if __name__ == "__main__":
    sys.exit(main())
