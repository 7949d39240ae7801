"""Starting, watching and ending a worker: the trusted side's grip on student code.

A :class:`Sandbox` owns one worker process (the runner's forked template from
:mod:`grader.engine.prefork` when there is one, else ``python -I -m grader.worker.main``) and talks to
it over two pipes with :mod:`grader.worker.protocol`. Limits are enforced twice, inside (rlimits,
namespaces, uid; see :mod:`grader.worker.confine`) and outside, by a watchdog thread that
every 0.2 s checks the wall clock, the resident memory and task count of the whole
process tree, and the scratch folder's size, and kills everything at the first excess.

Ending is thorough: the worker runs in its own session, the grading process is a
*child subreaper* (orphans of the worker, e.g. a double-forked daemon, are re-parented to
it, so they stay findable), and when the worker runs under its own uid every process of
that uid is killed too. After :meth:`Sandbox.close` nothing the submission started is
alive.
"""

from __future__ import annotations

import itertools
import os
import select
import shutil
import signal
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from grader.config import Limits
from grader.engine import prefork
from grader.worker import protocol
from grader.worker.libc import become_subreaper

UID_BASE = 61000  # worker uids when the grader runs as root: claimed from 61000 up
# the largest reply the trusted side reads, checked from a frame's prefix before its payload
# is read (docs/SECURITY.md): plain data and arrays for a call, value or probe; a model's
# weights (observe="model"/"history") may be larger
REPLY_LIMIT = 64 * 1024**2
MODEL_REPLY_LIMIT = 1024**3
# world-writable folders: under its own uid the worker could still leave files there
# (outside the scratch folder and its disk limit), so they are covered like /tmp
WRITABLE_BY_ANYONE = ("/dev/shm", "/var/tmp", "/run/lock", "/dev/mqueue")


class WorkerLost(Exception):
    """The worker is gone (timeout, memory, crash); ``status`` and ``str()`` say why."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class ProtocolBreach(WorkerLost):
    """The worker sent what the protocol does not allow (a frame for another request, one
    over the reply limit, a payload that does not decode): it was stopped, and that is final
    for the submission, like tampering with the grader."""


class WorkerStartFailed(RuntimeError):
    """The worker died before it reported its confinement: no code of the student's had run
    yet (their cells come with the first request after that report), so this is the grader's
    fault, never the student's (a Python installation the worker's uid cannot read, an
    overloaded machine)."""


@dataclass
class Isolation:
    """What to hide from the worker and how to run it; built by the grading process."""

    hide: list[str] = field(default_factory=list)
    isolate: bool = True  # namespaces + hidden folders (when the OS allows)
    slot: int = 0  # parallel job number: picks the uid and the cores
    cores: list[int] | None = None
    device: str = "cpu"
    gpu_index: int | None = None
    seed: int = 0  # seeds random, numpy and keras in the worker before every call
    # course files shown read-only in the worker's folder: (absolute source, relative path)
    data: list[tuple[str, str]] = field(default_factory=list)


def _closed_ancestors(paths: list[str]) -> list[str]:
    """For each path, its highest ancestor that other users cannot enter (no o+x), if any.

    A worker with a uid of its own could not reach a Python installation under such a folder
    (pyenv under a 0700 /root, with HOME elsewhere): hiding the folder (an empty tmpfs, mode
    755) and binding the installation back read-only makes it reachable, and hides the rest
    of that folder, which the worker's uid could not read anyway.
    """
    found = []
    for path in paths:
        parts = os.path.realpath(path).split(os.sep)
        for i in range(2, len(parts)):
            folder = os.sep.join(parts[:i])
            try:
                closed = not os.stat(folder).st_mode & 0o001
            except OSError:
                break
            if closed:
                found.append(folder)
                break
    return sorted(set(found))


def _keep_paths() -> list[str]:
    """Folders the worker needs even when an ancestor is hidden: Python and its packages."""
    package = str(Path(__file__).resolve().parents[1])  # grader/, whichever copy is running
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, package}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    import site

    paths.update(site.getsitepackages())
    # never sys.path as a whole: under pytest it holds the suite's own folder
    paths.add(str(Path(sys.executable).resolve().parent))
    return sorted(p for p in paths if p)


def _worker_env(scratch: str, isolation: Isolation, threads: int) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(scratch, ".matplotlib"),
        "KERAS_HOME": os.path.join(scratch, ".keras"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(max(1, min(2, threads))),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "GRADER_IN_WORKER": "1",
        "GRADER_OFFLINE": "1",
    }
    if isolation.device == "gpu" and isolation.gpu_index is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(isolation.gpu_index)
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""  # the CPU profile never touches a GPU
    for key in ("LD_LIBRARY_PATH", "CUDA_HOME"):
        if key in os.environ and isolation.device == "gpu":
            env[key] = os.environ[key]
    return env


class _OutputDrain(threading.Thread):
    """Reads the worker's stdout+stderr so it never blocks; keeps a bounded log."""

    def __init__(self, fd: int, limit: int, on_excess: Any) -> None:
        super().__init__(daemon=True)
        self.fd, self.limit, self.on_excess = fd, limit, on_excess
        self.head = bytearray()
        self.tail = b""
        self.total = 0

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            self.total += len(chunk)
            if len(self.head) < 32768:
                self.head += chunk[: 32768 - len(self.head)]
            self.tail = (self.tail + chunk)[-8192:]
            if self.total > self.limit:
                self.on_excess(self.total)
                break
        os.close(self.fd)

    def text(self) -> str:
        text = self.head.decode("utf-8", "replace")
        if self.total > len(self.head):
            text += f"\n[... {self.total - len(self.head)} more bytes ...]\n" + self.tail.decode("utf-8", "replace")
        return text


class Sandbox:
    """One worker process for one submission."""

    _ids = itertools.count(1)

    def __init__(self, limits: Limits, isolation: Isolation) -> None:
        self.limits = limits
        self.isolation = isolation
        self.proc: prefork.ForkedProcess | None = None
        self.reason: tuple[str, str] | None = None  # (status, message) once killed
        # what running past the deadline means: the submission's time limit, or (while the
        # grader runs the cells again in a fresh worker, :meth:`uncounted`) the grader's allowance
        self._overtime: tuple[str, str] = ("timeout", f"ran longer than the {limits.timeout:g} s time limit")
        self.report: dict[str, Any] = {}
        self.started = 0.0
        self.deadline = 0.0
        # when the worker last answered: from then until the next request the trusted side
        # is working (e.g. rebuilding a model, training a reference), which must not count
        # against the student's time limit; the deadline moves on by that much
        self._idle_since: float | None = None
        self._lock = threading.Lock()
        self.uid: int | None = None
        self._uid_lock: int | None = None
        # the clean process every worker of this submission is forked from (prefork.Zygote)
        self.zygote: prefork.Zygote | None = None
        self.workers = 0  # started so far: a fresh one after a lost check and before the hidden checks
        # the current check's budget (grader.engine.submission sets them around each request):
        # its seconds, and when the request in flight must have ended; None: none
        self.check_budget: float | None = None
        self.check_deadline: float | None = None
        self.check_cut = False  # the worker was stopped by the check's budget, not the submission's
        self._earlier_output: list[str] = []  # the output of the workers before this one
        self._retired = False  # the current worker was ended by retire_worker (a fresh one is due)
        # held by kill() for its whole sweep (which kills every process of the uid, for seconds
        # while a fork bomb's remains die), by _spawn until a new worker is the current one,
        # and by close() before it gives the uid back: a kill of an earlier worker (the watchdog
        # thread's, the output drain's) can never reach the next worker of this sandbox, nor
        # another sandbox's that claimed the uid after close()
        self._sweep = threading.RLock()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        become_subreaper()
        if os.geteuid() == 0:
            self.uid, self._uid_lock = claim_uid(self.isolation.slot)
        self.scratch = tempfile.mkdtemp(prefix="grader-scratch-")
        if self.uid is not None:
            os.chown(self.scratch, self.uid, self.uid)
        os.chmod(self.scratch, 0o700)
        threads = len(self.isolation.cores) if self.isolation.cores else (os.cpu_count() or 1)
        keep = _keep_paths()
        closed = _closed_ancestors(keep) if self.uid is not None else []
        hide = list(dict.fromkeys(self.isolation.hide + [tempfile.gettempdir(), *WRITABLE_BY_ANYONE] + closed))
        setup = {
            "scratch": self.scratch,
            "hide": [p for p in hide if p],
            "keep": keep,
            "isolate": self.isolation.isolate,
            "uid": self.uid,
            "cores": self.isolation.cores,
            "seed": self.isolation.seed,
            "data": [[source, target] for source, target in self.isolation.data],
            "limits": {
                "memory": self.limits.memory,
                "output": self.limits.output,
                # RLIMIT_NPROC: the worker sets it where only its own tasks count (confine.cap_tasks)
                "processes": self.limits.processes,
                "disk": self.limits.disk,  # the scratch tmpfs (confine.mount_scratch)
                "inodes": self.limits.inodes,
                "cpu_seconds": int(self.limits.timeout * max(1, threads) + 30),
            },
        }
        env = _worker_env(self.scratch, self.isolation, threads)
        self.started = time.monotonic()
        self.deadline = self.started + self.limits.timeout
        # every worker is forked from a zygote that holds only this setup: the warm runner's
        # template (TensorFlow already imported), else a fresh interpreter
        self.zygote = prefork.take()
        if self.zygote is not None:
            setup.update(forked=True)
        else:
            try:
                self.zygote = prefork.Zygote.cold(env)
            except OSError as exc:
                raise WorkerStartFailed(f"the worker's zygote could not start ({exc})") from None
        setup.update(env=env)
        try:
            self.zygote.send_setup(setup)
        except OSError as exc:
            raise WorkerStartFailed(f"the worker's zygote could not take its setup ({exc})") from None
        self._spawn()

    def _spawn(self) -> None:
        """Fork a worker from the zygote and read its confinement report."""
        assert self.zygote is not None
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        with self._sweep:  # no earlier worker's kill is sweeping the uid while this one starts
            try:
                pid = self.zygote.spawn(req_r, resp_w, out_w)
                proc = prefork.ForkedProcess(pid)
            except (OSError, psutil.Error) as exc:
                for fd in (req_w, resp_r, out_r):
                    os.close(fd)
                raise WorkerStartFailed(f"the worker could not be forked ({exc})") from None
            finally:
                for fd in (req_r, resp_w, out_w):
                    os.close(fd)
            self.proc, self._req_w, self._resp_r = proc, req_w, resp_r
        self.reason, self.check_cut, self.report, self._retired = None, False, {}, False
        self.workers += 1
        if self._idle_since is not None:  # a fresh worker's start is the worker's time again
            self.deadline += time.monotonic() - self._idle_since
            self._idle_since = None
        self.drain = _OutputDrain(out_r, self.limits.output,
                                  lambda total: self._output_excess(total, proc))
        self.drain.start()
        self._watch = threading.Thread(target=self._watchdog, args=(proc,), daemon=True)
        self._watch.start()
        try:
            reply = self._read_reply(protocol.SETUP_ID)
        except WorkerLost as exc:  # before its confinement report: no student code ran yet
            raise WorkerStartFailed(f"the worker could not start ({exc}); its output: "
                                    f"{self.output[-2000:]}") from None
        self._idle_since = time.monotonic()
        self.report = reply.get("value", {})

    def retire_worker(self) -> None:
        """End the current worker so that a fresh one can start (:meth:`fresh_worker`): kill
        what is left of it and wait until no process of its uid is left, zombies included
        (each still counts against the next worker's ``RLIMIT_NPROC``), then empty the scratch
        folder. The grader's time: none of it counts against the submission's limit.
        :class:`WorkerStartFailed` when the uid is not free within 15 s."""
        if self._idle_since is None:  # the lost request's clock stops here
            self._idle_since = time.monotonic()
        self._end_worker()
        left = _wait_uid(self.uid, 15.0) if self.uid is not None else []
        if left:
            raise WorkerStartFailed(f"processes of the last worker's uid {self.uid} were still there 15 s after "
                                    f"it was killed: {', '.join(left[:5])}")
        self._earlier_output.append(self.drain.text())
        _empty(self.scratch)
        self._retired = True

    def fresh_worker(self) -> None:
        """Replace the worker with a new one forked from the zygote: nothing the old one ran
        or recorded survives (its scratch folder is emptied too); the limits and the
        submission's deadline carry on. :class:`WorkerLost` when that deadline has passed."""
        if self.proc is not None and not self._retired:
            self.retire_worker()
        if self.time_left() <= 0:
            self.reason = self._overtime
            raise WorkerLost(*self.reason)
        self._spawn()

    @contextmanager
    def uncounted(self, allowance: float, what: str) -> Iterator[None]:
        """Worker time the grader spends for its own reasons (a fresh worker running the cells
        again): at most ``allowance`` seconds, none of it taken from the submission's limit.
        Past it, the worker is stopped with status ``timeout`` and a message saying ``what``
        took longer than the allowance."""
        left, overtime = self.time_left(), self._overtime
        self._set_time_left(allowance)
        self._overtime = ("timeout", f"took longer than the {allowance:.0f} s the grader allows for {what}")
        try:
            yield
        finally:
            self._set_time_left(left)
            self._overtime = overtime

    def _set_time_left(self, seconds: float) -> None:
        now = time.monotonic()
        idle = self._idle_since
        self.deadline = now + seconds - (now - idle if idle is not None else 0.0)

    def time_left(self) -> float:
        """Seconds of the submission's time limit left (time between requests not counted)."""
        now = time.monotonic()
        idle = self._idle_since
        return self.deadline + (now - idle if idle is not None else 0.0) - now

    def close(self) -> None:
        """Say goodbye, then kill whatever is left of the worker's tree, uid and zygote."""
        if self.proc is not None:
            self._end_worker()
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        if getattr(self, "scratch", None):
            shutil.rmtree(self.scratch, ignore_errors=True)
        with self._sweep:  # a kill still sweeping the uid ends first; none starts after this
            self._closed = True
        if self._uid_lock is not None:
            os.close(self._uid_lock)  # releases the uid for the next worker
            self._uid_lock = None

    def _end_worker(self) -> None:
        """Goodbye to the current worker, then kill what is left of its tree and uid."""
        assert self.proc is not None
        try:
            if self.proc.poll() is None and self.reason is None:
                os.write(self._req_w, self._frame({"op": "bye"}, protocol.BYE_ID))
                self.proc.wait(timeout=2)
        except (OSError, psutil.TimeoutExpired):
            pass
        self.kill(None)
        for fd in (self._req_w, self._resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.drain.join(timeout=2)

    def kill(self, reason: tuple[str, str] | None, worker: Any = None) -> None:
        """Kill the worker's session, every descendant, and every process of its uid.

        ``worker``: the worker the caller watched (the watchdog's, the output drain's); when
        it is no longer the current one (replaced by a fresh worker, or the sandbox closed),
        nothing is done: the uid is the next worker's now."""
        with self._sweep:
            if self._closed or self.proc is None or (worker is not None and worker is not self.proc):
                return
            self._kill(reason)

    def _kill(self, reason: tuple[str, str] | None) -> None:
        with self._lock:
            if reason is not None and self.reason is None:
                self.reason = reason
        assert self.proc is not None
        self.proc.kill_group()  # never a stale number: only while the worker is not reaped
        for child in psutil.Process().children(recursive=True):
            if child.pid == self.proc.pid or self._is_ours(child):
                try:
                    child.kill()
                except psutil.Error:
                    pass
        try:
            self.proc.wait(timeout=5)
        except psutil.TimeoutExpired:
            pass
        if self.uid is not None:  # what escaped the session (setsid, double fork) and is still alive
            _wait_uid(self.uid, 3.0, zombies="none")
        _reap_orphans(self.uid)  # so that none stays a zombie

    def _is_ours(self, proc: psutil.Process) -> bool:
        """A descendant of the grading process that the worker started (not a sibling job's)."""
        if self.zygote is not None and proc.pid == self.zygote.pid:
            return False  # runs no student code; it forks the next worker
        try:
            if self.uid is not None:
                return proc.uids().real == self.uid
            # (a forked worker's /proc environ is the warm parent's: the folder tells then)
            return proc.environ().get("GRADER_IN_WORKER") == "1" or proc.cwd().startswith(self.scratch)
        except psutil.Error:
            return False

    # ------------------------------------------------------------------ watchdog
    def _tree(self) -> list[psutil.Process]:
        assert self.proc is not None
        procs = [self.proc]
        try:
            procs += self.proc.children(recursive=True)
        except psutil.Error:
            pass
        if self.uid is not None:  # escaped (setsid, double fork) but still ours
            seen = {p.pid for p in procs}
            procs += [p for p in psutil.Process().children(recursive=True)
                      if p.pid not in seen and self._is_ours(p)]
        return procs

    def _watchdog(self, worker: Any) -> None:
        """Watch ``worker`` until it ends (or another worker replaced it)."""
        last_disk = 0.0
        while worker is self.proc and worker.poll() is None and self.reason is None:
            now = time.monotonic()
            idle = self._idle_since  # waiting for the trusted side: that time is not the worker's
            if now > self.deadline + (now - idle if idle is not None else 0.0):
                self.kill(self._overtime, worker)
                return
            check_deadline, budget = self.check_deadline, self.check_budget
            if idle is None and check_deadline is not None and budget is not None and now > check_deadline:
                self.check_cut = self.reason is None
                self.kill(("timeout", f"ran longer than the {budget:g} s this check may take"), worker)
                return
            rss = tasks = 0
            procs = self._tree()
            # the waiter left behind by the PID namespace runs no student code, and its pages
            # are the worker's own (forked): counted once, in the worker
            waiter = self.proc if self.report.get("waiter") else None
            for proc in procs:
                try:
                    if proc is not waiter:
                        rss += proc.memory_info().rss
                    tasks += proc.num_threads()
                except psutil.Error:
                    pass
            # tasks first: forked copies share their pages, so a fork bomb's summed RSS
            # would otherwise be reported as a memory excess. Under its own uid,
            # RLIMIT_NPROC stops the worker *at* the limit, so reaching it is the excess.
            if tasks >= self.limits.processes:
                self.kill(("processes", f"started {self.limits.processes} processes/threads, the limit "
                                        f"({tasks} counted)"), worker)
                return
            if rss > self.limits.memory:
                # summed RSS counts pages shared by forked copies once per copy: an upper
                # bound, kept because it is cheap and safe (PSS needs smaps, which takes
                # seconds on a tree that keeps forking); say how many processes it was
                many = f" ({len(procs)} processes together)" if len(procs) > 2 else ""
                self.kill(("memory", f"used more than the {_mib(self.limits.memory)} memory limit{many}"), worker)
                return
            # a tmpfs scratch costs one statvfs: every poll; a folder on the host disk is walked
            tmpfs = isinstance(self.report.get("disk"), dict)
            if tmpfs or now - last_disk > 1.0:
                last_disk = now
                excess = self._disk_excess(worker)
                if excess is not None:
                    self.kill(excess, worker)
                    return
            time.sleep(0.2)

    def _disk_excess(self, proc: Any) -> tuple[str, str] | None:
        """("disk", message) when the worker's files reached the disk or inode limit.

        The worker's scratch folder (and its /tmp) is a tmpfs of exactly those limits when its
        report says so (``report["disk"]``: :func:`grader.worker.confine.mount_scratch`): its
        use is one ``statvfs`` through the worker's root, and full is the excess (the kernel
        refused the next write with ENOSPC). Otherwise the folder on the host is walked."""
        disk = self.report.get("disk")
        if isinstance(disk, dict):
            try:
                st = os.statvfs(f"/proc/{proc.pid}/root{os.path.realpath(self.scratch)}")
            except OSError:  # the worker is ending
                return None
            full_blocks, full_inodes = st.f_bavail == 0, st.f_favail == 0
        else:
            used, entries = _du(self.scratch, self.limits.disk, self.limits.inodes)
            full_blocks, full_inodes = used > self.limits.disk, entries > self.limits.inodes
        if full_blocks:
            return "disk", f"wrote more than the {_mib(self.limits.disk)} disk limit"
        if full_inodes:
            return "disk", f"created more than the {self.limits.inodes} files and folders the disk limit allows (inodes)"
        return None

    def _output_excess(self, total: int, worker: Any) -> None:
        self.kill(("output", f"printed more than the {_mib(self.limits.output)} output limit"), worker)

    # ------------------------------------------------------------------ requests
    @staticmethod
    def _frame(request: dict, frame_id: int) -> bytes:
        return protocol.pack_frame(frame_id, request)

    def request(self, request: dict, timeout: float | None = None) -> dict:
        """Send one request and wait for its reply (until the worker's deadline)."""
        if self.reason is not None:
            raise WorkerLost(*self.reason)
        if self.proc is not None and isinstance(self.report.get("disk"), dict):  # filled since the last poll?
            excess = self._disk_excess(self.proc)
            if excess is not None:
                self.kill(excess)
                raise WorkerLost(*excess)
        request_id = next(self._ids)
        limit = MODEL_REPLY_LIMIT if request.get("observe") in ("model", "history") else REPLY_LIMIT
        if self._idle_since is not None:
            self.deadline += time.monotonic() - self._idle_since
            self._idle_since = None
        try:
            try:
                self._write_all(self._frame(request, request_id))
            except (BrokenPipeError, OSError):
                raise self._lost() from None
            return self._read_reply(request_id, limit)
        finally:  # answered or lost, the worker's time stops here until the next request
            self._idle_since = time.monotonic()

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self._req_w], [], max(0.0, self.deadline - time.monotonic()) + 1)
            if not ready:
                raise self._lost()
            written = os.write(self._req_w, view[: 1 << 20])
            view = view[written:]

    def _read_exact(self, n: int) -> bytearray:
        buf = bytearray(n)  # zeroed lazily: pages are touched only as the bytes arrive
        view, size = memoryview(buf), 0
        while size < n:
            remaining = self.deadline - time.monotonic()
            ready, _, _ = select.select([self._resp_r], [], [], max(0.05, min(remaining + 1, 1.0)))
            if not ready:
                if self.reason is not None or self.proc.poll() is not None:  # type: ignore[union-attr]
                    raise self._lost()
                if remaining < -1:
                    self.kill(self._overtime)
                    raise self._lost()
                continue
            got = os.readv(self._resp_r, [view[size : size + (1 << 20)]])
            if not got:
                raise self._lost()
            size += got
        return buf

    def _read_reply(self, request_id: int, max_bytes: int = REPLY_LIMIT) -> dict:
        """The reply to ``request_id``. Anything else (a frame for another id, one longer than
        ``max_bytes``, a payload that does not decode within the protocol's budgets) is a
        protocol breach: the worker is stopped and :class:`WorkerLost` (status ``error``) says so."""
        try:
            _, length = protocol.read_prefix(self._read_exact, expect_id=request_id, max_bytes=max_bytes)
            reply = protocol.decode(self._read_exact(length))
        except (protocol.ProtocolError, RecursionError, MemoryError, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise self._breach(str(exc)) from None
        if not isinstance(reply, dict):
            raise self._breach("a reply that is not a dict")
        return reply

    def _breach(self, what: str) -> WorkerLost:
        reason = ("error", f"broke the grading protocol (a malformed answer): {what}")
        self.kill(reason)
        lost = self._lost()
        return ProtocolBreach(*reason) if self.reason == reason else lost  # else it was lost first

    def _lost(self) -> WorkerLost:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=3)
        except psutil.TimeoutExpired:
            self.kill(("error", "stopped answering"))
            code = None
        if self.reason is not None:
            return WorkerLost(*self.reason)
        if code is not None and code < 0:
            sig = signal.Signals(-code).name
            if -code == signal.SIGXFSZ:
                return WorkerLost("output", f"wrote a file larger than the {_mib(self.limits.output)} limit")
            if -code == signal.SIGXCPU:
                return WorkerLost("timeout", "used up its CPU time limit")
            return WorkerLost("error", f"crashed (killed by {sig})")
        if code == 0:
            return WorkerLost("error", "exited (code 0) while being graded: do not call sys.exit/os._exit in graded code")
        return WorkerLost("error", f"stopped with exit code {code} while being graded: graded code must not exit, "
                                   "replace builtins or close the grader's files")

    @property
    def output(self) -> str:
        """What the workers printed outside the calls, the current one's last."""
        current = self.drain.text() if hasattr(self, "drain") else ""
        return "\n[a fresh worker]\n".join([*self._earlier_output, current]) if self._earlier_output else current


UID_LOCKS = Path(tempfile.gettempdir()) / "grader-uids"
UID_COUNT = 4096


def claim_uid(slot: int) -> tuple[int, int]:
    """A uid no other worker on this machine uses now, held by an flock until released.

    Every grader process (parallel jobs, several batches, ``grader check`` beside a batch)
    claims its worker's uid here, so killing "every process of my uid" can never reach
    another submission's worker. A crashed holder's lock is released by the kernel.
    """
    import fcntl

    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for offset in range(UID_COUNT):
        uid = UID_BASE + (slot + offset) % UID_COUNT
        fd = os.open(UID_LOCKS / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        # leftovers of a holder that died are ours now: killed, and a uid whose processes
        # are not all gone within a second (a killed runner's orphans that their new parent
        # has not reaped yet: they would count against the worker's RLIMIT_NPROC) is passed over
        if _wait_uid(uid, 1.0, zombies="all"):
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError(f"all {UID_COUNT} worker uids are in use")


def _kill_uid(uid: int) -> None:
    """Kill every process of ``uid``: a forked helper takes the uid and calls kill(-1)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _reap_orphans(uid: int | None) -> None:
    """Reap the zombies re-parented to this process (a child subreaper) from a worker's tree:
    with a worker uid, only that uid's; never a child that an object of the grader waits for
    itself (:data:`grader.engine.prefork.OWNED`: a zygote, a worker), whose pid must stay
    its own until that object reaps it."""
    for child in psutil.Process().children(recursive=False):
        if child.pid in prefork.OWNED:
            continue
        try:
            if child.status() != psutil.STATUS_ZOMBIE or (uid is not None and child.uids().real != uid):
                continue
            os.waitpid(child.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            pass


def _uid_left(uid: int, zombies: str) -> list[tuple[int, str, int]]:
    """The processes of ``uid`` as (pid, state, parent): the live ones, and the zombies
    ``zombies`` names: "none", "ours" (those this process can reap) or "all" (also those
    another process has yet to reap: a killed runner's orphans wait for their new parent)."""
    me, found = os.getpid(), []
    for proc in psutil.process_iter(["uids", "status", "ppid"]):
        try:
            if not proc.info["uids"] or proc.info["uids"].real != uid:
                continue
            if proc.info["status"] == psutil.STATUS_ZOMBIE and (
                    zombies == "none" or (zombies == "ours" and proc.info["ppid"] != me)):
                continue
            found.append((proc.pid, proc.info["status"], proc.info["ppid"]))
        except psutil.Error:
            pass
    return found


def _wait_uid(uid: int, seconds: float, zombies: str = "ours") -> list[str]:
    """Until no process of ``uid`` is left (zombies as :func:`_uid_left` says; "ours" are
    reaped here): a zombie still counts against ``RLIMIT_NPROC``, so a fresh worker started
    beside a dying fork bomb's remains could not fork. While a live one is left, all are
    killed (:func:`_kill_uid`: it forks the grading process, 20-50 ms with TensorFlow in it,
    so only then; after a worker that said goodbye, usually nothing is). What is still left
    after ``seconds``, as "pid state parent" (empty: the uid is free)."""
    deadline = time.monotonic() + seconds
    while True:
        if zombies != "none":
            _reap_orphans(uid)
        left = _uid_left(uid, zombies)
        if not left or time.monotonic() >= deadline:
            return [f"{pid} {state} parent {parent}" for pid, state, parent in left]
        if any(state != psutil.STATUS_ZOMBIE for _pid, state, _parent in left):
            _kill_uid(uid)
        time.sleep(0.05)


def _empty(folder: str) -> None:
    """Remove everything inside ``folder`` (a scratch folder a fresh worker starts from)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def _du(path: str, stop_at: int, max_entries: int) -> tuple[int, int]:
    """(bytes, files and folders) under ``path``; stops once either is past its limit."""
    total = count = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    count += 1
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
                    if total > stop_at or count > max_entries:
                        return total, count
        except OSError:
            pass
    return total, count


def _mib(n: int) -> str:
    return f"{n / 1024**3:g} GiB" if n >= 1024**3 else f"{n / 1024**2:g} MiB"
