"""One function's failure costs only its own checks (issue 13 item 1), and hidden checks
cannot speak through public ones (issue 12 item 5).

Each check's calls into the worker share a time budget (``[limits] check_timeout``, or
``@pytest.mark.budget``); a check that runs past it, or whose worker dies, fails with the
reason and the next check gets a fresh worker forked from the zygote. Public checks run
before hidden ones, and the first hidden check gets a fresh worker.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from grader.config import Limits
from grader.engine import marks, prefork
from grader.engine.grading import check_budget, grade_file
from grader.engine.sandbox import Isolation, Sandbox

RIGHT_MEAN = """\
import numpy as np

def mean(x, axis=None):
    return np.mean(x, axis=axis)

ANSWER = 42
"""
ADD_LOOPS = RIGHT_MEAN + """
def add(a, b):
    while True:
        pass
"""
ADD_EXITS = RIGHT_MEAN + """
import os

def add(a, b):
    os._exit(1)
"""
# records every argument add is called with; mean raises them. add is right only on its
# first call in a worker: the hidden check passes only in a worker that served no public one
RECORDER = RIGHT_MEAN.replace("def mean(x, axis=None):\n    return np.mean(x, axis=axis)", """\
SEEN = []

def add(a, b):
    SEEN.append((a, b))
    return a + b if len(SEEN) == 1 else 0

def mean(x, axis=None):
    raise ValueError(f"seen {SEEN}")""")
ADD_CHECKS = ("test_add_small", "test_add_random")
MEAN_CHECKS = ("test_mean", "test_mean_keeps_input", "test_answer")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_function_that_loops_costs_only_its_own_checks(course, tmp_path):
    start = time.monotonic()
    result = grade_file(write(tmp_path / "loops.py", ADD_LOOPS), assignment="demo", course=course,
                        limits={"check_timeout": 5})  # 2 s cut a healthy check on a busy CI machine
    text = "\n".join(f"{t.name}: {t.status} {t.output}" for t in result.tests.values())
    for name in ADD_CHECKS:
        assert result.tests[name].status == "failed", text
        assert "ran longer than the 5 s this check may take" in result.tests[name].output, text
        assert "infinite loop" in result.tests[name].output, text
    for name in MEAN_CHECKS:
        assert result.tests[name].status == "passed", text
    assert result.score == 4 and result.status == "ok", (result.status, result.message)
    # the row says which checks were cut: public ones by title, hidden ones counted
    assert "add: 2 + 3 (your code ran longer than the 5 s this check may take)" in result.message
    assert "1 hidden check" in result.message and "add: random integers" not in result.message
    assert result.sandbox["cut"] == list(ADD_CHECKS)
    # two cuts and the hidden checks' own start: four workers (the public add check's cut
    # gave mean its fresh one; the first hidden check's fresh one looped too)
    assert result.sandbox["workers"] >= 3
    assert time.monotonic() - start < 60  # two 5 s budgets and fresh starts; status ok: not the 30 s limit


def test_the_submission_limit_still_stops_everything(course, tmp_path):
    """A budget larger than what is left of the submission's time: the row times out as before."""
    result = grade_file(write(tmp_path / "loops.py", ADD_LOOPS), assignment="demo", course=course,
                        limits={"timeout": 4, "check_timeout": 0})
    assert result.status == "timeout" and "4 s time limit" in result.message
    assert result.tests["test_mean"].output.startswith("Not graded: your code ran longer than the 4 s")
    assert "cut" not in result.sandbox


def test_a_worker_that_exits_costs_only_its_checks(course, tmp_path):
    result = grade_file(write(tmp_path / "exits.py", ADD_EXITS), assignment="demo", course=course)
    text = "\n".join(f"{t.name}: {t.status} {t.output}" for t in result.tests.values())
    for name in ADD_CHECKS:
        assert result.tests[name].status == "failed", text
        assert "stopped with exit code 1 while being graded" in result.tests[name].output, text
    for name in MEAN_CHECKS:
        assert result.tests[name].status == "passed", text
    assert result.score == 4
    # a crash keeps its status (unlike a check's time budget); the message names the checks
    assert result.status == "error" and "exit code 1" in result.message
    assert "add: 2 + 3" in result.message and "1 hidden check" in result.message


def test_public_checks_never_see_what_hidden_checks_sent(course, tmp_path):
    result = grade_file(write(tmp_path / "recorder.py", RECORDER), assignment="demo", course=course)
    names = list(result.tests)
    assert names.index("test_add_random") > max(names.index(n) for n in ("test_add_small", *MEAN_CHECKS))
    # mean's message quotes the worker's record: only what public checks asked
    assert "seen [(2, 3)]" in result.tests["test_mean"].output, result.tests["test_mean"].output
    assert "seen [(2, 3)]" in result.tests["test_mean_keeps_input"].output
    # the hidden check ran in a worker that never served a public check
    assert result.tests["test_add_random"].status == "passed", result.tests["test_add_random"].output
    assert result.tests["test_add_small"].status == "passed"
    assert result.sandbox["workers"] == 2 and "cut" not in result.sandbox
    assert result.status == "ok" and result.message == ""


def test_public_only_runs_keep_one_worker(course, tmp_path):
    result = grade_file(write(tmp_path / "recorder.py", RECORDER), assignment="demo", course=course,
                        public_only=True)
    assert "workers" not in result.sandbox and set(result.tests) == {"test_add_small", *MEAN_CHECKS}


def test_a_second_worker_costs_a_fork(tmp_path):
    """From a warm runner's zygote, a fresh worker starts in well under a second."""
    import numpy  # noqa: F401 - imported before the fork, as a warm runner has it

    prefork.fork_template()
    box = Sandbox(Limits(timeout=30), Isolation(isolate=False))
    try:
        box.start()
        assert box.report["started"] == "forked from the warm runner"
        first = box.proc.pid
        box.request({"op": "load", "units": [{"filename": "<cell 1>", "label": "cell 1", "lines": None,
                                               "source": "import numpy as np\nx = np.arange(3)"}]})
        seconds = []
        for _ in range(3):
            began = time.monotonic()
            box.fresh_worker()
            box.request({"op": "load", "units": [{"filename": "<cell 1>", "label": "cell 1", "lines": None,
                                                   "source": "import numpy as np\nx = np.arange(3)"}]})
            seconds.append(time.monotonic() - began)
            assert box.request({"op": "value", "name": "x"})["value"].tolist() == [0, 1, 2]
        assert box.proc.pid != first and box.workers == 4
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
        assert min(seconds) < 1.0, seconds
        print(f"fresh worker + load: {', '.join(f'{s:.3f}' for s in seconds)} s")
        zygote = box.zygote.pid
    finally:
        box.close()
        prefork.discard()
    assert not psutil.pid_exists(zygote) or psutil.Process(zygote).status() == psutil.STATUS_ZOMBIE


def test_budgets_come_from_limits_and_marks():
    assert check_budget(Limits(timeout=180)) == 45  # a quarter of timeout
    assert check_budget(Limits(timeout=180).merged({"check_timeout": 20})) == 20
    assert check_budget(Limits(timeout=10).merged({"check_timeout": 20})) == 10
    assert check_budget(Limits(timeout=10).merged({"check_timeout": 0})) is None
    source = "import pytest\n\n@pytest.mark.budget(30)\ndef test_a(submission):\n    pass\n"
    assert marks.check_suite(source) == []
    assert marks.check_suite(source.replace("budget(30)", "budget(0)")) == [
        "<suite>:3: @pytest.mark.budget(0): budget must be a number > 0"]


def test_ending_the_lost_worker_is_not_the_students_time(course, tmp_path, monkeypatch):
    """Killing what is left of a lost worker (a fork bomb's remains take a while on a busy
    machine) is the grader's time: neither the student's limit nor the restart's allowance."""
    retire = Sandbox.retire_worker

    def slow_retire(self):
        retire(self)
        time.sleep(11)  # longer than the 4 s limit and than the restart's 10 s allowance

    monkeypatch.setattr(Sandbox, "retire_worker", slow_retire)
    result = grade_file(write(tmp_path / "exits.py", ADD_EXITS), assignment="demo", course=course,
                        limits={"timeout": 4})
    text = "\n".join(f"{t.name}: {t.status} {t.output}" for t in result.tests.values())
    for name in MEAN_CHECKS:
        assert result.tests[name].status == "passed", text
    assert result.status == "error" and "exit code 1" in result.message, (result.status, result.message)


def test_a_restart_past_its_allowance_is_the_graders_error(course, tmp_path, monkeypatch):
    """Running the cells again got twice their first time (at least 10 s) and did not finish:
    the machine or the grader, not a verdict on the student's code. Every later check is a
    grader error (regraded on resume), started once, not once per check."""
    spawn, request, spawned = Sandbox._spawn, Sandbox.request, []

    def counted_spawn(self):
        spawn(self)
        spawned.append(self.workers)

    def slow_reload(self, req, *args, **kwargs):
        if req.get("op") != "load" or self.workers < 2:
            return request(self, req, *args, **kwargs)
        write = self._write_all

        def late(data):  # the fresh worker's cells "run" 11 s: past the 10 s floor
            time.sleep(11)
            return write(data)

        self._write_all = late
        try:
            return request(self, req, *args, **kwargs)
        finally:
            del self._write_all

    monkeypatch.setattr(Sandbox, "_spawn", counted_spawn)
    monkeypatch.setattr(Sandbox, "request", slow_reload)
    result = grade_file(write(tmp_path / "exits.py", ADD_EXITS), assignment="demo", course=course)
    text = "\n".join(f"{t.name}: {t.status} {t.output}" for t in result.tests.values())
    assert result.tests["test_add_small"].status == "failed", text  # the student's exit: their verdict
    assert "exit code 1" in result.tests["test_add_small"].output
    later = [name for name in result.tests if name != "test_add_small"]
    assert later and all(result.tests[name].status == "grader-error" for name in later), text
    assert any("took longer than the 10 s the grader allows for running your cells again" in e
               for e in result.grader_errors), result.grader_errors
    assert result.status == "grader-error", (result.status, result.message)
    assert spawned == [1, 2], spawned  # one restart tried, then every later check failed at once
