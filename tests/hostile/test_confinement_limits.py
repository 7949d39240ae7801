"""Issue 11: the task, disk and memory confinement holds for every user.

Each attack in tests/hostile/limits/ is graded on its own (the engine test course's
``demo_model``) and its defence asserted, whoever runs the grader: root (a uid per worker)
or a normal user (the worker in a user namespace of its own; .ci/run runs this module as a
user made with useradd). Nothing here skips by mode:

* shell fork bomb: RLIMIT_NPROC counted for the worker alone stops it at the task limit,
  measured from the trusted side, and the watchdog ends it with a message naming the limit;
* directory flood: the scratch folder (and /tmp) is a tmpfs of ``inodes`` inodes: ENOSPC,
  killed with a disk message in seconds, nothing left on the host to delete;
* ``.pth`` planting: nothing lands outside the scratch folder, and a fresh Python finds no
  new ``.pth``;
* inherited memory: a worker forked in a batch slot holds no earlier submission's request.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader.config import load_course
from grader.engine import sandbox as sandbox_module
from grader.engine.grading import grade_file
from grader.model import SubmissionResult
from grader.reports.results import load_full
from tests.conftest import COURSE_DIR

pytestmark = pytest.mark.slow

ATTACKS = Path(__file__).resolve().parent / "limits"
ASSIGNMENT = "demo_model"
TASKS = 128  # the fork bomb's task limit (the course's is 256)
INODES = 5000  # the flood's inode limit (the course's is 20000)
PLANTED = "zz_hostile_planted.pth"


@pytest.fixture(scope="module")
def course():
    return load_course(COURSE_DIR / "autograder.toml")


@pytest.fixture
def boxes(monkeypatch):
    """Every Sandbox started in the test, and how long each one's close() took."""
    seen: list[tuple[sandbox_module.Sandbox, list[float]]] = []
    start, close = sandbox_module.Sandbox.start, sandbox_module.Sandbox.close

    def recording_start(self):
        seen.append((self, []))
        return start(self)

    def timed_close(self):
        began = time.monotonic()
        try:
            return close(self)
        finally:
            for box, times in seen:
                if box is self:
                    times.append(time.monotonic() - began)

    monkeypatch.setattr(sandbox_module.Sandbox, "start", recording_start)
    monkeypatch.setattr(sandbox_module.Sandbox, "close", timed_close)
    return seen


def _grade(name: str, folder: Path, course, **limits) -> SubmissionResult:
    copy = folder / name
    shutil.copy(ATTACKS / name, copy)
    return grade_file(copy, assignment=ASSIGNMENT, course=course, device="cpu", limits=limits)


def _report(result: SubmissionResult):
    """What a probe's ``scale`` returned (the suite shows it in test_scale's feedback)."""
    for item in result.feedback:
        if item.get("test") == "test_scale" and item.get("kind") == "text":
            return ast.literal_eval(item["text"])
    raise AssertionError(f"no report in test_scale's feedback: {result.tests['test_scale']}")


def _worker_tasks() -> int:
    """Tasks (threads) of this process's descendants below its direct children: the worker's
    tree (the direct children are the zygote, which runs no student code, or helpers)."""
    me = psutil.Process()
    direct = {p.pid for p in me.children()}
    total = 0
    for proc in me.children(recursive=True):
        if proc.pid in direct:
            continue
        try:
            total += proc.num_threads()
        except psutil.Error:
            pass
    return total


def _descendants(since: float, wait: float = 10.0) -> list[str]:
    """This test process's live descendants started at or after ``since`` (a time.time()),
    once they had ``wait`` seconds to end (a killed zygote or worker takes a moment to be
    reaped on a busy machine). Older ones belong to other tests of the same pytest process
    (e.g. grader.check's warm process, which lives as long as its kernel)."""
    deadline = time.monotonic() + wait
    while True:
        found = _live_descendants(since)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _live_descendants(since: float) -> list[str]:
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.create_time() >= since - 1:
                found.append(f"{proc.pid} {proc.name()}")
        except psutil.Error:
            pass
    return found


# ------------------------------------------------------------------ tasks
def test_shell_fork_bomb_stops_at_the_task_limit(tmp_path, course, boxes):
    began_at = time.time()
    peak, done = [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _worker_tasks())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = _grade("shell_fork_bomb.py", tmp_path, course, processes=TASKS)
    finally:
        done.set()
        watcher.join()
    assert result.status == "error", (result.status, result.message)
    counted = re.search(rf"started {TASKS} processes/threads, the limit \((\d+) counted\)", result.message)
    assert counted, result.message
    # the kernel's cap, counted for this worker alone, in both modes
    assert result.sandbox["tasks"].startswith(f"RLIMIT_NPROC {TASKS}, counted in its own"), result.sandbox["tasks"]
    # the peak, from the trusted side: the watchdog's count when it killed (it reached the
    # limit) and this test's own samples (it may miss the top on a busy machine), never past
    # the limit (+1: as root, the waiter the PID namespace leaves behind keeps uid 0 and is
    # not counted by the kernel). Without the kernel's cap the bomb overshoots between polls.
    assert TASKS <= int(counted.group(1)) <= TASKS + 1, result.message
    assert 0.5 * TASKS <= peak[0] <= TASKS + 1, peak[0]
    assert _descendants(began_at) == []
    assert all(times and times[0] < 10 for _box, times in boxes), boxes


# ------------------------------------------------------------------ disk
def test_directory_flood_stops_at_the_inode_limit(tmp_path, course, boxes):
    began_at = time.time()
    tmp_flood = Path(tempfile.gettempdir()) / "flood"
    existed = tmp_flood.exists()
    began = time.monotonic()
    result = _grade("dir_flood.py", tmp_path, course, inodes=INODES)
    seconds = time.monotonic() - began
    assert result.status == "error", (result.status, result.message)
    assert f"created more than the {INODES} files and folders the disk limit allows" in result.message
    disk = result.sandbox["disk"]
    assert disk["scratch"] == "tmpfs" and disk["inodes"] == INODES, disk
    assert disk["tmp"].startswith("/tmp: a folder of the scratch tmpfs"), disk
    # stopped at once (the flood would go on for 60 s), and nothing to delete on the host
    assert result.tests["test_scale"].seconds < 15, result.tests["test_scale"]
    assert seconds < 120
    for box, times in boxes:
        assert not os.path.exists(box.scratch), box.scratch
        assert times and times[0] < 5, times  # closing: no 100,000s of entries to delete
    assert tmp_flood.exists() == existed  # the worker's /tmp was its own
    assert _descendants(began_at) == []


def test_a_full_disk_is_stopped_by_the_kernel_and_named(tmp_path, course):
    """Bytes: huge_file's files fill the 64 MiB tmpfs (ENOSPC), the watchdog's statvfs says so."""
    shutil.copy(Path(__file__).resolve().parent / "submissions" / "huge_file.py", tmp_path / "huge_file.py")
    result = grade_file(tmp_path / "huge_file.py", assignment=ASSIGNMENT, course=course, device="cpu")
    assert result.status == "error" and "wrote more than the 64 MiB disk limit" in result.message, result.message
    assert result.sandbox["disk"]["bytes"] == 64 * 1024**2


# ------------------------------------------------------------------ planted code
def _pth_files() -> list[str]:
    """The .pth files a fresh Python of this installation reads at start."""
    code = ("import glob, json, os, site\n"
            "dirs = site.getsitepackages() + [site.getusersitepackages()]\n"
            "print(json.dumps(sorted(p for d in dirs for p in glob.glob(os.path.join(d, '*.pth')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def test_a_planted_pth_lands_nowhere_but_the_scratch(tmp_path, course):
    before = _pth_files()
    host_targets = set(site.getsitepackages()) | {site.getusersitepackages(), str(Path.home()), "/root",
                                                  tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}
    host_targets |= {p for p in sys.path if p and os.path.isdir(p)}
    if os.path.isdir("/home"):
        host_targets |= {os.path.join("/home", h) for h in os.listdir("/home")}
    already = {t for t in host_targets if os.path.exists(os.path.join(t, PLANTED))}
    result = _grade("plant_pth.py", tmp_path, course)
    report = _report(result)
    where, scratch = report["where"], report["scratch"]
    assert where[scratch] == "written"  # the control: its own folder is writable
    assert {"/var/tmp", "/dev/shm"} <= set(where) and len(where) > 6, where
    inside = {scratch, "/tmp"}  # the worker's /tmp is a folder of its scratch tmpfs
    refused = {errno.errorcode[e] for e in (errno.EROFS, errno.EACCES, errno.EPERM)}
    for folder, what in where.items():
        if folder in inside or folder.startswith(scratch + "/"):
            continue
        assert what in refused, (folder, what)
    planted = sorted(t for t in host_targets - already if os.path.exists(os.path.join(t, PLANTED)))
    for target in planted:  # never leave one behind, even when the test fails
        os.unlink(os.path.join(target, PLANTED))
    assert planted == []
    after = _pth_files()
    assert after == before and not [p for p in after if p.endswith(PLANTED)]


# ------------------------------------------------------------------ inherited memory
def test_a_worker_holds_no_earlier_request_in_its_memory(tmp_path):
    """One slot (--jobs 1), two submissions in order: the marker, then the probe that scans
    its own anonymous memory for names shaped like the marker's."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name in ("student_7f3a9c.py", "student_zprobe.py"):
        shutil.copy(ATTACKS / name, subs / name)
    env = dict(os.environ, GRADER_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", "grade", str(subs), "--assignment", ASSIGNMENT, "--out", str(out),
         "--jobs", "1", "--timeout", "60"],
        cwd=COURSE_DIR, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    marker, probe = (load_full(out / "submissions" / name) for name in ("student_7f3a9c", "student_zprobe"))
    assert marker is not None and probe is not None, proc.stderr[-3000:]
    assert marker.status == "ok" and marker.score == 4, (marker.status, marker.message)
    report = _report(probe)
    assert report["scanned"] > 1 << 20, report
    assert "student_zprobe" in report["found"], report  # the scan finds what is there: its own name
    assert "student_7f3a9c" not in report["found"], report  # and nothing of the submission before
    # graded in that order, in one slot
    written = [(out / "submissions" / name / "results.json").stat().st_mtime_ns for name in ("student_7f3a9c", "student_zprobe")]
    assert written[0] <= written[1]
