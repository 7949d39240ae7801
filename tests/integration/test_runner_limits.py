"""The trusted side's own limits (docs/SECURITY.md, "The trusted side's own limits").

The runner (the trusted process grading one submission) has a memory limit, ``[limits]
trusted_memory``: the batch watches its resident set and stops it past the limit, and its
private data is capped (RLIMIT_DATA) so that a sudden allocation fails in the check that made
it. Each check's trusted work has a deadline, ``[limits] trusted_check_timeout``, its time
waiting on the worker not counted. Past either, the grader says it was its own limit: never
the student's timeout, never 0/0, and nothing is left in the temporary folder.

The course here is written per test: its suite is trusted code that, on the submission's
word (``WORK``), does what an expensive model makes the trusted side do: hold memory that
is not private data (a shared mapping: the resident-set watch must catch it), allocate at
once (numpy), or work for a long time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.batch.batch import grade_batch
from grader.batch.device import DeviceChoice
from grader.batch.jobs import Job, run_one
from grader.config import load_course
from grader.model import GRADER_ERROR
from grader.reports.results import load_full

CPU = DeviceChoice("cpu", 0)
MiB = 1024**2

SUITE = '''\
"""A suite whose own (trusted) work is what the submission's WORK asks for."""

import mmap
import time
from pathlib import Path

import numpy as np
import pytest

from grader.checks import expect_equal


@pytest.mark.points(1)
def test_add(submission):
    """add: 2 + 3"""
    expect_equal(submission.call("add", 2, 3), 5, what="add(2, 3)")


@pytest.mark.points(2)
def test_heavy(submission):
    """the grader's own work on the submission"""
    work = submission.value("WORK")
    # where the worker's scratch folder is (its working folder), for the test to look at later
    (Path(__file__).parent / f"scratch-{work}.txt").write_text(submission.value("FOLDER"))
    if work == "shared":  # resident, but not private data: only the resident-set watch sees it
        block = mmap.mmap(-1, 1200 * 2**20)
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        time.sleep(60)
    elif work == "private":  # one allocation past the runner's private-data cap
        np.ones(1200 * 2**20 // 8).sum()
    elif work == "slow":  # trusted work past the per-check deadline (a suite's except cannot keep it)
        try:
            time.sleep(30)
        except Exception:
            pass
    expect_equal(submission.call("add", 1, 1), 2, what="add(1, 1)")


@pytest.mark.points(4)
def test_add_again(submission):
    """add: 40 + 2, with the student's code taking its time (worker time, not the grader's)"""
    expect_equal(submission.call("add", 40, 2), 42, what="add(40, 2)")
'''

SUBMISSION = '''\
import os
import time

WORK = {work!r}
FOLDER = os.getcwd()

def add(a, b):
    if a == 40:
        time.sleep(4)  # longer than the trusted deadline per check: worker time does not count
    return a + b
'''

TOTAL = 7.0  # the suite's points: a row stopped by a limit still says out of how many


def make_course(root: Path, **limits: object) -> Path:
    (root / "limits").mkdir(parents=True)
    (root / "limits" / "test_limits.py").write_text(SUITE)
    (root / "limits" / "limits.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    lines = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in limits.items())
    (root / "autograder.toml").write_text(f"""\
[course]
name = "runner limits"
seed = 3
preload = ["numpy"]

[limits]
timeout = 40
memory = "1GiB"
{lines}

[assignments.limits]
notebook = "limits/limits.ipynb"
suite = "limits/test_limits.py"
graded = ["add", "WORK", "FOLDER"]
""")
    return root / "autograder.toml"


def submissions(folder: Path, *works: str) -> list[Path]:
    folder.mkdir()
    paths = []
    for work in works:
        path = folder / f"{work}.py"
        path.write_text(SUBMISSION.format(work=work))
        paths.append(path)
    return paths


def scratch_of(course_root: Path, work: str) -> Path:
    """The worker's scratch folder of the submission whose WORK was ``work`` (the suite wrote it down)."""
    path = Path((course_root / "limits" / f"scratch-{work}.txt").read_text())
    assert path.name.startswith("grader-scratch-")
    return path


@pytest.fixture
def batch_tmp(monkeypatch: pytest.MonkeyPatch):
    """The batch's temporary folder, ours alone (other tests may run batches meanwhile): the
    runners' ledgers of their temporary folders are written there."""
    folder = tempfile.mkdtemp(prefix="grader-limits-test-")
    os.chmod(folder, 0o711)
    monkeypatch.setattr(tempfile, "tempdir", folder)
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_runner_past_its_memory_limit_is_stopped_and_the_batch_goes_on(tmp_path, batch_tmp):
    course = load_course(make_course(tmp_path / "course", trusted_memory="700MiB"))
    hog, good = submissions(tmp_path / "subs", "shared", "none")
    rows = {r.submission: r for r in grade_batch([hog, good], course, tmp_path / "out", "limits", CPU)}

    stopped = rows["shared"]
    assert stopped.status == "error"
    assert "memory limit (700 MiB, [limits] trusted_memory)" in stopped.message
    assert "not a verdict on your code" in stopped.message
    assert (stopped.score, stopped.max_score) == (0.0, TOTAL)
    assert load_full(tmp_path / "out" / "submissions" / "shared").status == "error"
    # the next submission was graded in full by a fresh runner
    assert (rows["none"].status, rows["none"].score, rows["none"].max_score) == ("ok", TOTAL, TOTAL)
    # the killed runner removed nothing; the batch removed what its ledger listed
    assert not scratch_of(tmp_path / "course", "shared").exists()
    assert not scratch_of(tmp_path / "course", "none").exists()
    assert list(batch_tmp.iterdir()) == []


def test_a_sudden_allocation_fails_the_check_that_made_it_as_the_graders(tmp_path, batch_tmp):
    course = load_course(make_course(tmp_path / "course", trusted_memory="700MiB"))
    [hog] = submissions(tmp_path / "subs", "private")
    [row] = grade_batch([hog], course, tmp_path / "out", "limits", CPU)

    assert row.status == GRADER_ERROR, row.message
    heavy = row.tests["test_heavy"]
    assert heavy.status == GRADER_ERROR and heavy.score == 0
    assert "[limits] trusted_memory" in heavy.detail and "MemoryError" in heavy.detail
    assert "your code" not in heavy.output
    # the other checks were graded
    assert (row.tests["test_add"].status, row.tests["test_add_again"].status) == ("passed", "passed")
    assert row.max_score == TOTAL
    assert not scratch_of(tmp_path / "course", "private").exists()
    assert list(batch_tmp.iterdir()) == []


def test_trusted_work_past_its_deadline_is_the_graders_and_worker_time_does_not_count(tmp_path, batch_tmp):
    course = load_course(make_course(tmp_path / "course", trusted_check_timeout=2))
    slow, fine = submissions(tmp_path / "subs", "slow", "none")
    rows = {r.submission: r for r in grade_batch([slow, fine], course, tmp_path / "out", "limits", CPU)}

    row = rows["slow"]
    assert row.status == GRADER_ERROR, row.message
    heavy = row.tests["test_heavy"]
    assert heavy.status == GRADER_ERROR and heavy.score == 0
    assert "TrustedTimeout" in heavy.detail and "2 s limit ([limits] trusted_check_timeout" in heavy.detail
    assert heavy.seconds < 15  # stopped at its deadline, not after the suite's 30 s sleep
    # the other checks were graded; add(40, 2) sleeps 4 s in the worker, past the 2 s trusted deadline
    assert (row.tests["test_add"].status, row.tests["test_add_again"].status) == ("passed", "passed")
    assert row.tests["test_add_again"].seconds >= 4
    assert (rows["none"].status, rows["none"].score) == ("ok", TOTAL)
    assert not scratch_of(tmp_path / "course", "slow").exists()
    assert list(batch_tmp.iterdir()) == []


class StoppedParent:
    """A warm parent whose runner the batch had to stop (what WarmParent.run reports then)."""

    def __init__(self, why: str) -> None:
        self.stopped, self.peak, self.requests = why, 0, []

    def run(self, request: dict, timeout: float, memory: int | None = None) -> tuple[None, str]:
        self.requests.append((request, timeout, memory))
        # a runner writes down each temporary folder it makes; this one made one and was stopped
        folder = tempfile.mkdtemp(prefix="grader-scratch-")
        with open(request["ledger"], "a", encoding="utf-8") as ledger:
            ledger.write(folder + "\n")
        self.folder = folder
        return None, ""


@pytest.mark.parametrize("why, words", [
    ("timeout", "took longer than the grader's time limit for it (130 s: 40 s for your code, 30 s for the "
                "grader's work, [limits] trusted_timeout, 60 s to start)"),
    ("memory", "passed the grader's memory limit (2 GiB, [limits] trusted_memory)"),
])
def test_a_stopped_runner_is_an_error_row_naming_the_graders_limit(tmp_path, batch_tmp, why, words):
    course = load_course(make_course(tmp_path / "course", trusted_timeout=30, trusted_memory="2GiB"))
    [path] = submissions(tmp_path / "subs", "none")
    parent = StoppedParent(why)
    row = run_one(Job(path, "none"), course, tmp_path / "out", "limits", "cpu", None, 0, None, {}, [], parent)

    assert row.status == "error"  # not the student's "timeout"
    assert words in row.message and "not a verdict on your code" in row.message
    assert (row.score, row.max_score) == (0.0, TOTAL)
    [(request, timeout, memory)] = parent.requests
    assert (timeout, memory, request["trusted_memory"]) == (130.0, 2 * 1024**3, 2 * 1024**3)
    assert not os.path.exists(parent.folder) and not os.path.exists(request["ledger"])
    assert list(batch_tmp.iterdir()) == []
