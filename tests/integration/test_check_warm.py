"""grader.check's warm check process: one per notebook session, reused, dead with the kernel.

The first ``grader.check`` of a kernel (or script) starts a warm process
(:class:`grader.batch.slot.WarmParent`: TensorFlow imported once) that forks a fresh runner and
worker per check. What must hold: later checks reuse it (same pid), the verdicts and
messages equal the one-shot path's (``python -m grader.student.check REQUEST``, a process
of its own), the worker is still forked and confined, and the warm process dies with the
kernel, even when the kernel is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "tests" / "course" / "autograder.toml"
COURSE_CONFIG = ROOT / "autograder.toml"
SUBMISSIONS_03 = ROOT / "tests" / "submissions" / "03_cnn"


def _env(config: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "GRADER_CONFIG": str(config), "GRADER_OFFLINE": "1",
           "GRADER_DATA_DIR": os.environ.get("GRADER_DATA_DIR", "/work/shared/datasets"), **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _one_shot(path: Path, assignment: str, config: Path, targets: list[str], tmp: Path, env: dict) -> dict:
    """The check as one process of its own (the path ``grader.check`` had before)."""
    out = tmp / f"one-shot-{path.stem}.json"
    request = {"path": str(path), "assignment": assignment, "config": str(config), "targets": targets,
               "out": str(out)}
    proc = subprocess.run([sys.executable, "-m", "grader.student.check", json.dumps(request)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text("utf-8"))


def _verdicts(tests: list[dict] | dict) -> dict[str, tuple[str, str]]:
    items = tests.values() if isinstance(tests, dict) else tests
    return {t["name"]: (t["status"], t["output"]) for t in items}


SCRIPT = """\
import json, os, sys
import grader
from grader.student import check as notebook_check

checks = json.loads(sys.argv[1])
rows = []
for path, assignment, target in checks:
    r = grader.check(target, assignment=assignment, notebook=path, show=False)
    rows.append({"target": target, "seconds": r.seconds, "warm_pid": r.warm_pid,
                 "tests": {t.name: {"name": t.name, "status": t.status, "output": t.output}
                           for t in r.result.tests.values()},
                 "started": r.result.sandbox.get("started"),
                 "warm_parent": psutil.Process(r.warm_pid).ppid() if r.warm_pid else None})
print("ROWS " + json.dumps(rows))
if os.environ.get("HOLD"):
    print("HOLDING", flush=True)
    import time
    time.sleep(600)
"""


def _script(tmp: Path) -> Path:
    script = tmp / "checks.py"
    script.write_text("import psutil\n" + SCRIPT, "utf-8")
    return script


def _run_checks(tmp: Path, checks: list[tuple[str, str, str]], config: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, str(_script(tmp)), json.dumps(checks)], capture_output=True, text=True,
                          env=_env(config), timeout=900, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("ROWS "))
    return json.loads(line[len("ROWS "):]), proc


def test_demo_checks_reuse_one_warm_process_with_the_one_shot_verdicts(tmp_path):
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text("def add(a, b):\n    return a + b\n", "utf-8")
    bad.write_text("def add(a, b):\n    return a * b\n", "utf-8")
    checks = [(str(good), "demo", "add"), (str(bad), "demo", "add"), (str(good), "demo", "add")]
    rows, proc = _run_checks(tmp_path, checks, DEMO_CONFIG)
    pids = {r["warm_pid"] for r in rows}
    assert len(pids) == 1 and None not in pids  # one warm process served the three checks
    assert all(r["started"] == "forked from the warm runner" for r in rows)
    for (path, assignment, target), row in zip(checks, rows, strict=True):
        once = _one_shot(Path(path), assignment, DEMO_CONFIG, [target], tmp_path, _env(DEMO_CONFIG))
        assert _verdicts(row["tests"]) == _verdicts(once["tests"])
    assert rows[0]["tests"] != rows[1]["tests"]  # the wrong one failed, with its message
    assert not psutil.pid_exists(rows[0]["warm_pid"]) or \
        psutil.Process(rows[0]["warm_pid"]).status() == psutil.STATUS_ZOMBIE  # gone with the script


@pytest.mark.parametrize("name", ["wrong_same_padding.py", "correct_functional.py"])
def test_a_real_exercise_gives_the_one_shot_verdicts(tmp_path, name):
    path = SUBMISSIONS_03 / name
    checks = [(str(path), "03_cnn", "build_cnn"), (str(path), "03_cnn", "build_cnn")]
    rows, _ = _run_checks(tmp_path, checks, COURSE_CONFIG)
    assert rows[0]["warm_pid"] == rows[1]["warm_pid"] is not None
    once = _one_shot(path, "03_cnn", COURSE_CONFIG, ["build_cnn"], tmp_path, _env(COURSE_CONFIG))
    assert _verdicts(rows[0]["tests"]) == _verdicts(rows[1]["tests"]) == _verdicts(once["tests"])
    assert {t["name"] for t in once["tests"]} == {"test_build_cnn_layers", "test_build_cnn_activations",
                                                   "test_build_cnn_compile"}  # public checks only


def test_the_warm_process_dies_with_a_killed_kernel(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("def add(a, b):\n    return a + b\n", "utf-8")
    env = _env(DEMO_CONFIG, HOLD="1")
    proc = subprocess.Popen([sys.executable, str(_script(tmp_path)), json.dumps([(str(good), "demo", "add")])],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path)
    try:
        rows = None
        for line in proc.stdout:
            if line.startswith("ROWS "):
                rows = json.loads(line[len("ROWS "):])
            if line.startswith("HOLDING"):
                break
        assert rows, "the check did not run"
        warm = psutil.Process(rows[0]["warm_pid"])
        assert rows[0]["warm_parent"] == proc.pid and warm.is_running()
        proc.send_signal(signal.SIGKILL)  # the kernel dies without a word
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and warm.is_running() and warm.status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.05)
        assert not warm.is_running() or warm.status() == psutil.STATUS_ZOMBIE
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_checks_in_a_jupyter_kernel_reuse_its_warm_process_which_ends_with_the_kernel(tmp_path):
    from nbclient import NotebookClient

    cells = [
        new_code_cell("import os, grader"),
        new_code_cell("# GRADED: add\ndef add(a, b):\n    return a + b"),
        new_code_cell("r1 = grader.check('add', assignment='demo')"),
        new_code_cell("# GRADED: add\ndef add(a, b):\n    return a - b"),
        new_code_cell("r2 = grader.check('add', assignment='demo')\n"
                      "print('PIDS', r1.warm_pid, r2.warm_pid, os.getpid(), r1.passed, r2.passed)"),
    ]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    old = dict(os.environ)
    os.environ.update(_env(DEMO_CONFIG))
    try:
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    text = "".join(o.get("text", "") for o in nb.cells[4].get("outputs", []))
    line = next(x for x in text.splitlines() if x.startswith("PIDS"))
    _, p1, p2, kernel, passed1, passed2 = line.split()
    assert p1 == p2 != "None" and (passed1, passed2) == ("True", "False")
    deadline = time.monotonic() + 10  # the kernel has been shut down: its warm process follows
    while time.monotonic() < deadline and psutil.pid_exists(int(p1)):
        if psutil.Process(int(p1)).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.05)
    assert not psutil.pid_exists(int(p1)) or psutil.Process(int(p1)).status() == psutil.STATUS_ZOMBIE
    assert not psutil.pid_exists(int(kernel)) or psutil.Process(int(kernel)).status() == psutil.STATUS_ZOMBIE
