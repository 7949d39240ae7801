"""The trusted side never signals a process number it no longer owns.

A grader running as root may kill any process of the machine, and pid numbers come back:
on a machine with ``pid_max`` 32768, a fork bomb graded beside (thousands of short-lived
processes a second) wraps them in seconds. So every kill by number happens only while the
child is not reaped (until then the kernel keeps its number), and nothing reaps a child
that one object of the grader waits for (:data:`grader.engine.prefork.OWNED`): reaped
behind its back, a worker that exited with code 7 was reported as "crashed (killed by
SIGKILL)", and its number became free while the sandbox still meant to kill it.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest

from grader.config import Limits
from grader.engine import prefork, sandbox
from grader.engine.prefork import ForkedProcess, Zygote
from grader.engine.sandbox import Isolation, Sandbox

CELL = [{"filename": "<cell 1>", "label": "cell 1", "lines": None, "source": "x = 1"}]


def _child(code: int, linger: float = 0.0) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        time.sleep(linger)
        os._exit(code)
    return pid


def _zombie(pid: int) -> None:
    deadline = time.monotonic() + 10
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)


def test_orphan_reaping_leaves_a_workers_exit_status_to_its_owner():
    worker = ForkedProcess(_child(7))
    stray = _child(3)  # a zombie nobody owns: the kind the subreaper must collect
    _zombie(worker.pid)
    _zombie(stray)
    assert worker.pid in prefork.OWNED
    sandbox._reap_orphans(None)
    assert not psutil.pid_exists(stray) or psutil.Process(stray).status() != psutil.STATUS_ZOMBIE
    assert worker.poll() == 7  # its own exit code, not "killed by SIGKILL"
    assert worker.pid not in prefork.OWNED


def test_a_reaped_worker_is_never_signalled_again(monkeypatch):
    sent = []
    real_killpg = os.killpg
    monkeypatch.setattr(os, "killpg", lambda pid, sig: (sent.append(pid), real_killpg(pid, sig)))
    alive = ForkedProcess(_child(0, linger=30))
    os.setpgid(alive.pid, alive.pid)  # a group of its own, like a worker's session
    alive.kill_group()
    assert sent == [alive.pid]
    assert alive.wait(timeout=10) == -signal.SIGKILL
    alive.kill_group()  # reaped: its number may be anyone's now
    assert sent == [alive.pid]


def test_a_zygote_that_died_and_was_reaped_is_not_killed_by_number(monkeypatch):
    kills = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: kills.append(pid))
    pid = _child(0)
    zygote = Zygote(pid, channel=_Closed())
    os.waitpid(pid, 0)  # reaped (by its owner, say, at an earlier close)
    zygote.close()
    assert kills == [] and pid not in prefork.OWNED


class _Closed:
    def close(self) -> None:
        pass


@pytest.mark.skipif(os.geteuid() != 0, reason="a worker uid of its own is root's mode")
def test_a_lingering_kill_of_the_last_worker_never_reaches_the_next(monkeypatch):
    """The watchdog thread that killed a worker sweeps its uid for a while (a fork bomb's or a
    memory hog's remains die slowly); the next worker of the sandbox, with the same uid, must
    not start until that sweep is over, or the sweep kills it (the unexplained 'crashed
    (killed by SIGKILL) while its cells were run again' of the clean-clone CI runs)."""
    real_wait = sandbox._wait_uid

    def slow_off_the_main_thread(uid, seconds, zombies="ours"):
        if threading.current_thread() is not threading.main_thread():
            time.sleep(1.5)  # the sweep is still running while the main thread goes on
        return real_wait(uid, seconds, zombies)

    monkeypatch.setattr(sandbox, "_wait_uid", slow_off_the_main_thread)
    box = Sandbox(Limits(timeout=30), Isolation(isolate=True, slot=9))
    try:
        box.start()
        box.request({"op": "load", "units": CELL})
        old = box.proc
        watchdog = threading.Thread(target=box.kill, args=(("memory", "used too much"), old))
        watchdog.start()
        time.sleep(0.2)  # the watchdog's kill is in its sweep
        box.retire_worker()
        box.fresh_worker()
        assert box.request({"op": "load", "units": CELL})["ok"]
        watchdog.join()
        assert box.proc is not old and box.proc.poll() is None  # the new worker lives
        assert box.request({"op": "value", "name": "x"})["value"] == 1
        box.kill(("memory", "late"), old)  # a kill naming the old worker does nothing now
        assert box.proc.poll() is None and box.reason is None
    finally:
        box.close()
