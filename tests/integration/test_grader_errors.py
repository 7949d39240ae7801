"""Grader faults are not failures (issue 13): an exception of the suite's own code, or a
missing dataset, is the grader's fault. The check and the row are ``grader-error`` (their
own status in grades.csv, results.json's extra_data and JUnit's ``<error>``), the student
reads a neutral message without paths, the detail is the instructor's, ``grader grade``
exits 3, and resuming the batch grades those rows again. A batch whose suite needs a
dataset that is missing stops before any student is graded (exit 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.config import load_course
from grader.engine.grading import grade_file
from grader.engine.plugin import GRADER_ERROR_MESSAGE
from grader.model import GRADER_ERROR
from grader.reports.results import gradescope, junit_xml, summary, write_submission
from tests.conftest import COURSE_DIR, ROOT

SUITE = '''"""A suite with a bug of its own."""
import pytest

from grader.checks import expect_equal


@pytest.mark.points(1)
@pytest.mark.target("add")
def test_add(submission):
    """add: 2 + 3"""
    expect_equal(submission.call("add", 2, 3), 5, what="add(2, 3)")


@pytest.mark.points(2)
@pytest.mark.target("add")
def test_add_ratio(submission):
    """add: a ratio the suite computes"""
    found = submission.call("add", 1, 1)
    expect_equal(found, {expected}, what="add(1, 1)")


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("add")
def test_add_secret(submission):
    """add: a hidden case"""
    expect_equal(submission.call("add", 4, 4), 8, what="add(4, 4)")
'''
BUG = "1 / 0 + 2"  # ZeroDivisionError in the suite's own code
FIXED = "2"


def _fault_course(tmp_path: Path, expected: str = BUG) -> Path:
    root = tmp_path / "course"
    (root / "fault").mkdir(parents=True, exist_ok=True)
    (root / "fault" / "test_fault.py").write_text(SUITE.replace("{expected}", expected))
    (root / "autograder.toml").write_text(
        '[course]\nname = "fault"\nseed = 1\npreload = ["numpy"]\n'
        '[limits]\ntimeout = 30\nmemory = "2GiB"\n'
        '[assignments.fault]\nnotebook = "fault/fault.ipynb"\nsuite = "fault/test_fault.py"\ngraded = ["add"]\n')
    return root / "autograder.toml"


def test_a_bug_in_the_suite_is_a_grader_error_not_the_students_failure(tmp_path):
    course = load_course(_fault_course(tmp_path))
    result = grade_file(COURSE_DIR / "submissions" / "good.py", assignment="fault", course=course)
    check = result.tests["test_add_ratio"]
    assert (check.status, check.score, check.output) == (GRADER_ERROR, 0.0, GRADER_ERROR_MESSAGE)
    assert "ZeroDivisionError" in check.detail and "test_fault.py" in check.detail
    assert result.tests["test_add"].status == "passed" and result.tests["test_add_secret"].status == "passed"
    assert result.status == GRADER_ERROR
    assert "not your mistake" in result.message and "add: a ratio the suite computes" in result.message
    assert any("ZeroDivisionError" in d for d in result.grader_errors)

    # the student's copies: neutral, no exception, no server path
    public = gradescope(result)
    student_text = json.dumps({k: public[k] for k in ("output", "tests")})
    assert "ZeroDivisionError" not in student_text and str(tmp_path) not in student_text
    assert public["extra_data"]["status"] == GRADER_ERROR
    assert {t["status"] for t in public["tests"]} <= {"passed", "failed"}  # Gradescope's two values
    # the instructor's: the detail, and JUnit says error, not failure
    assert "ZeroDivisionError" in summary(result)
    suite = ET.fromstring(junit_xml(result)).find("testsuite")
    case = next(c for c in suite.iter("testcase") if c.get("name") == "test_add_ratio")
    assert case.find("failure") is None and case.find("error").get("type") == GRADER_ERROR
    assert "ZeroDivisionError" in case.find("error").text
    assert suite.get("failures") == "0" and suite.get("errors") == "2"  # the check and the row


def test_results_json_top_level_output_shows_only_visible_checks(course):
    result = grade_file(COURSE_DIR / "submissions" / "wrong.py", assignment="demo", course=course)
    hidden = [t for t in result.tests.values() if t.hidden]
    assert hidden and any(t.status != "passed" for t in hidden)
    data = gradescope(result)
    assert data["visibility"] == "visible"
    for t in hidden:
        assert t.title not in data["output"]
        assert t.output not in data["output"] or not t.output
        own = next(x for x in data["tests"] if x["name"] == t.title)
        assert own["visibility"] == "after_published"
    assert "hidden check" in data["output"]
    for t in result.tests.values():
        if not t.hidden:
            assert t.title in data["output"]
            assert next(x for x in data["tests"] if x["name"] == t.title)["visibility"] == "visible"


def _cli(config: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def test_grader_error_rows_exit_3_and_are_regraded_on_resume(tmp_path):
    config = _fault_course(tmp_path)
    out = tmp_path / "out"
    sub = COURSE_DIR / "submissions" / "good.py"
    first = _cli(config, "grade", str(sub), "--assignment", "fault", "--out", str(out))
    assert first.returncode == 3, first.stderr
    assert "grader error" in first.stderr and "good" in first.stderr
    assert ",grader-error," in (out / "grades.csv").read_text()
    results = json.loads((out / "submissions" / "good" / "results.json").read_text())
    assert "ZeroDivisionError" not in json.dumps(results["tests"]) + results["output"]
    assert "ZeroDivisionError" in (out / "submissions" / "good" / "result.full.json").read_text()
    assert '<error message="ZeroDivisionError' in (out / "submissions" / "good" / "junit.xml").read_text()

    _fault_course(tmp_path, FIXED)  # the instructor fixes the suite; the same command again
    again = _cli(config, "grade", str(sub), "--assignment", "fault", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "already graded" not in again.stderr
    row = json.loads((out / "submissions" / "good" / "result.full.json").read_text())
    assert (row["status"], row["score"], row["max_score"]) == ("ok", 4.0, 4.0)


SOLUTION_04 = ROOT / "solutions" / "04_convolution" / "04_convolution.ipynb"


@pytest.mark.skipif(not (Path(os.environ.get("GRADER_DATA_DIR", "/nonexistent")) / "ascent.dat").is_file(),
                    reason="needs the course's datasets (GRADER_DATA_DIR)")
def test_missing_dataset_stops_the_batch_then_the_same_command_grades_17_of_17(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), KERAS_HOME=str(home / ".keras"), GRADER_OFFLINE="1")
    cmd = ("grade", str(SOLUTION_04), "--out", str(out), "--jobs", "1")
    missing = _cli(ROOT / "autograder.toml", *cmd, env={**env, "GRADER_DATA_DIR": str(empty)})
    assert missing.returncode == 2, missing.stderr
    assert "dataset 'ascent' not found" in missing.stderr
    # nothing graded: no row at all, certainly no `ok` row with lost points
    assert not (out / "submissions" / "04_convolution" / "results.json").exists()
    assert not (out / "grades.csv").exists()

    back = _cli(ROOT / "autograder.toml", *cmd, env=env)  # the data is back (GRADER_DATA_DIR)
    assert back.returncode == 0, back.stderr
    row = json.loads((out / "submissions" / "04_convolution" / "result.full.json").read_text())
    assert (row["status"], row["score"], row["max_score"]) == ("ok", 17.0, 17.0)


def test_a_grader_error_row_saved_earlier_is_regraded(tmp_path, course):
    """Resume reads rows back with load_full: a grader-error row is never 'already graded'."""
    from grader.batch.batch import grade_batch
    from grader.batch.device import DeviceChoice

    out = tmp_path / "out"
    sub = COURSE_DIR / "submissions" / "good.py"
    stale = grade_file(sub, assignment="demo", course=course)
    stale.status, stale.score, stale.grader_errors = GRADER_ERROR, 0.0, ["DatasetNotFound: ..."]
    stale.submission = "good"
    write_submission(stale, out / "good")
    lines: list[str] = []
    [result] = grade_batch([sub], course, out, "demo", DeviceChoice("cpu", 0), log=lines.append)
    assert result.status == "ok" and result.score == result.max_score
    assert not any("already graded" in line for line in lines)


def test_a_worker_that_cannot_start_is_the_graders_fault(course):
    """A worker that dies before its confinement report ran no student code: a grader error
    (here: a memory limit too small to import numpy), never 'your code stopped'."""
    result = grade_file(COURSE_DIR / "submissions" / "good.py", assignment="demo", course=course,
                        limits={"memory": "24MiB"})
    assert result.status == GRADER_ERROR, (result.status, result.message)
    assert result.tests and all(t.status == GRADER_ERROR for t in result.tests.values())
    assert all(t.output == GRADER_ERROR_MESSAGE for t in result.tests.values())
    assert "your code" not in result.message
    assert any("the worker could not start" in e for e in result.grader_errors), result.grader_errors


def test_a_python_installation_under_a_closed_folder_is_made_reachable(tmp_path):
    """pyenv under a 0700 /root with HOME elsewhere: the closed folder is hidden (a tmpfs the
    worker can enter) and the installation bound back, instead of a worker that cannot import."""
    from grader.engine.sandbox import _closed_ancestors

    closed = tmp_path / "home"
    inside = closed / ".pyenv" / "versions" / "3.11"
    inside.mkdir(parents=True)
    closed.chmod(0o700)
    try:
        [found] = _closed_ancestors([str(inside)])
        # the highest folder on the way that others cannot enter: everything above it is open
        assert str(inside).startswith(found + os.sep)
        assert not os.stat(found).st_mode & 0o001
        assert all(os.stat(p).st_mode & 0o001 for p in Path(found).parents)
    finally:
        closed.chmod(0o755)
    assert _closed_ancestors(["/usr/lib"]) == []  # open all the way: nothing to hide
