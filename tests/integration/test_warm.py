"""The warm parent per batch slot and the workers forked from it (grader.batch.slot, grader.engine.prefork).

What must hold: a forked worker starts with the course's preloads imported but nothing of
the grading (suite, plugin, scores) in its memory; the warm parent never holds the grading
server's secrets (its memory is copied into every worker); a runner that runs too long is
killed and the slot carries on; a warm parent that died is started again.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import psutil
import pytest

from grader.batch.batch import grade_batch
from grader.batch.device import DeviceChoice
from grader.batch.slot import WarmParent, trusted_environment
from grader.engine.grading import grade_file
from grader.reports.results import load_full
from tests.processes import Watcher, alive, descendants, gone_within

CPU = DeviceChoice("cpu", 0)

# demo's add() passes only where the forked worker found the preloaded module, and nothing of
# the grading: no suite module, no plugin or submission object, no test function
INSPECTOR = """\
import gc
import sys

PRELOADED = "email.mime.text" in sys.modules
GRADING = sorted({type(o).__name__ for o in gc.get_objects()
                  if type(o).__name__ in ("GradingPlugin", "Submission", "Sandbox", "Course")}
                 | {m for m in sys.modules if "test_demo" in m or m.startswith("conftest")})

def add(a, b):
    if not PRELOADED:
        return "not preloaded"
    if GRADING:
        return "the grading is in my memory: " + ", ".join(GRADING)
    return a + b

def mean(x, axis=None):
    import numpy as np
    return np.mean(x, axis=axis)
"""

SLEEPER = """\
import time

def add(a, b):
    time.sleep(60)
    return a + b
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_environment_passed_on_is_only_what_grading_needs():
    kept = trusted_environment({
        "PATH": "/usr/bin", "HOME": "/root", "GRADER_DATA_DIR": "/data", "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "0", "LC_ALL": "C.UTF-8", "KERAS_HOME": "/k",
        "AWS_SECRET_ACCESS_KEY": "s", "GITHUB_TOKEN": "t", "GRADESCOPE_API_KEY": "k", "SSH_AUTH_SOCK": "/a",
    })
    assert set(kept) == {"PATH", "HOME", "GRADER_DATA_DIR", "TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES",
                         "LC_ALL", "KERAS_HOME"}


def test_a_forked_worker_has_the_preloads_and_nothing_of_the_grading(course, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
    preloading = dataclasses.replace(course, preload=("numpy", "email.mime.text"))
    sub = write(tmp_path / "subs" / "inspector.py", INSPECTOR)
    environs: list[str] = []

    def look(_done: int, _total: int) -> None:  # while the batch runs: what the warm parents were started with
        for proc in descendants():
            if proc.name == "grader-warm":
                try:
                    environs.append(Path(f"/proc/{proc.pid}/environ").read_bytes().decode("utf-8", "replace"))
                except OSError:
                    pass  # exited meanwhile

    [result] = grade_batch([sub], preloading, tmp_path / "out", "demo", CPU, progress=look)
    assert result.sandbox["started"] == "forked from the warm runner"
    assert result.tests["test_add_small"].status == "passed", result.tests["test_add_small"].output
    assert environs and all("GRADER_OFFLINE" in e and "server-secret" not in e for e in environs)
    # the same file graded without a warm parent: a fresh worker has not imported the module
    fresh = grade_file(sub, assignment="demo", course=preloading)
    assert fresh.sandbox["started"] == "fresh interpreter"
    assert "not preloaded" in fresh.tests["test_add_small"].output


def test_a_runner_over_its_time_is_killed_and_the_slot_goes_on(course, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    parent = WarmParent(0, None, ["numpy"], logs)
    try:
        request = {"path": str(write(tmp_path / "slow.py", SLEEPER)), "assignment": "demo",
                   "config": str(course.root / "autograder.toml"), "out": str(tmp_path / "slow"),
                   "device": "cpu", "gpu_index": None, "slot": 0, "cores": None, "limits": {}, "hide": [],
                   "name": "slow"}
        with Watcher() as watcher:  # this test's own runner and worker, not the machine's
            code, _ = parent.run(request, timeout=3)
        assert code is None
        busy = watcher.named("grader-runner", "grader-worker")
        assert {s.name for s in busy} == {"grader-runner", "grader-worker"}, watcher.seen
        assert gone_within(5, busy), alive(busy)
        good = dict(request, path=str(course.root / "submissions" / "good.py"), out=str(tmp_path / "good"), name="good")
        code, _ = parent.run(good, timeout=60)
        assert code == 0 and load_full(tmp_path / "good").score == 7
        # a warm parent that died is started again for the next submission
        assert parent.proc is not None
        first = parent.proc.pid
        parent.proc.kill()
        parent.proc.wait()
        code, _ = parent.run(dict(good, out=str(tmp_path / "again")), timeout=60)
        assert code == 0 and parent.proc.pid != first
        assert load_full(tmp_path / "again").score == 7
    finally:
        parent.close()
    assert parent.proc is None


# Run in a process of its own that is a child subreaper and never reaps, as a container's PID 1
# may be: a killed runner's orphans that reach it stay zombies there.
NEVER_REAPS = """\
import json, sys, time
import psutil
from grader.batch.slot import WarmParent
from grader.worker.libc import become_subreaper

become_subreaper()
request, logs = json.loads(sys.argv[1]), sys.argv[2]
parent = WarmParent(0, None, ["numpy"], __import__("pathlib").Path(logs))
code, _ = parent.run(request, timeout=3)
me = psutil.Process()
deadline = time.monotonic() + 5
while True:
    zombies = [p.pid for p in me.children(recursive=True) if p.status() == psutil.STATUS_ZOMBIE]
    if not zombies or time.monotonic() > deadline:
        break
    time.sleep(0.1)
warm = parent.proc.pid if parent.proc is not None and parent.proc.poll() is None else None
parent.close()
print(json.dumps({"code": code, "zombies": zombies, "warm": warm}))
"""


def test_a_killed_runners_orphans_are_reaped_by_the_warm_parent(course, tmp_path):
    """Its worker and template, re-parented when the runner is killed, never stay zombies,
    whatever the process above the batch does (the warm parent is their subreaper)."""
    import subprocess
    import sys

    logs = tmp_path / "logs"
    logs.mkdir()
    request = {"path": str(write(tmp_path / "slow.py", SLEEPER)), "assignment": "demo",
               "config": str(course.root / "autograder.toml"), "out": str(tmp_path / "slow"),
               "device": "cpu", "gpu_index": None, "slot": 0, "cores": None, "limits": {}, "hide": [],
               "name": "slow"}
    proc = subprocess.run([sys.executable, "-c", NEVER_REAPS, json.dumps(request), str(logs)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["code"] is None  # the runner was killed at its 3 s
    assert found["warm"] is not None  # and the warm parent lived on
    assert found["zombies"] == [], found


def test_a_runner_that_crashes_costs_only_its_row(course, tmp_path, monkeypatch):
    """A runner killed from outside (as a TensorFlow abort would) gives an error row; the next is graded."""
    subs = tmp_path / "subs"
    write(subs / "a_crash.py", SLEEPER.replace("time.sleep(60)", "time.sleep(3)"))
    write(subs / "b_good.py", (course.root / "submissions" / "good.py").read_text())
    import threading

    def kill_first_runner() -> None:
        for _ in range(400):
            for proc in descendants():
                if proc.name == "grader-runner":
                    try:
                        psutil.Process(proc.pid).kill()
                    except psutil.Error:
                        continue
                    return
            threading.Event().wait(0.05)

    killer = threading.Thread(target=kill_first_runner)
    killer.start()
    results = {r.submission: r for r in grade_batch([subs], course, tmp_path / "out", "demo", CPU)}
    killer.join()
    assert results["a_crash"].status == "error" and "crashed" in results["a_crash"].message
    assert "SIGKILL" in results["a_crash"].message or "-9" in results["a_crash"].message
    assert results["b_good"].status == "ok" and results["b_good"].score == 7
    rows = json.loads((tmp_path / "out" / "submissions" / "a_crash" / "results.json").read_text())
    assert rows["score"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the forked worker's uid switch needs root")
def test_the_forked_worker_is_confined_like_a_fresh_one(course, tmp_path):
    sub = course.root / "submissions" / "good.py"
    [warm] = grade_batch([sub], course, tmp_path / "out", "demo", CPU)
    fresh = grade_file(sub, assignment="demo", course=course)
    ignore = {"started", "uid", "cores", "hidden", "read_only", "lockdown_ms"}  # lockdown_ms: a timing
    assert {k: v for k, v in warm.sandbox.items() if k not in ignore} == {k: v for k, v in fresh.sandbox.items() if k not in ignore}
    assert isinstance(warm.sandbox["uid"], int) and warm.sandbox["hidden"] and warm.sandbox["read_only"]
    assert warm.score == fresh.score == 7
