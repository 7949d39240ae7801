"""A submission's name and metadata cannot steer the batch (issue 12 items 7, 8; issue 10 item 3).

* Each submission's files live in ``OUT/submissions/<name>/``: a file named ``grades.csv.py``,
  ``manual.py`` or ``submissions.py`` is just a submission, the gradebook stays a file, and
  resuming finds every result (also those of the previous, flat layout ``OUT/<name>/``).
* A batch grades one assignment, chosen once: ``--assignment``, else the one all the files
  name; a notebook whose metadata names another assignment gets an ``error`` row and is
  graded against no suite.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.batch.batch import grade_batch, load_batch
from grader.batch.device import DeviceChoice
from grader.model import SubmissionResult
from grader.reports.results import load_full, write_submission
from grader.source.assignment import (
    AssignmentUnclear,
    batch_assignment,
    infer_assignment,
    released_for_another,
)
from tests.conftest import COURSE_DIR

CPU = DeviceChoice("cpu", 0)
GOOD = COURSE_DIR / "submissions" / "good.py"
WRONG = COURSE_DIR / "submissions" / "wrong.py"
CLAIMED = ("grades.csv", "manual", "submissions")  # the batch's own names at the top of OUT


def _grader(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "grader.cli", "--config", str(COURSE_DIR / "autograder.toml"),
                           *args], capture_output=True, text=True, env=env, timeout=300)


def _rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "grades.csv").read_text("utf-8"))))


def _notebook(path: Path, assignment: str | None, source: str) -> Path:
    meta = {"grader": {"assignment": assignment}} if assignment else {}
    cell = new_code_cell(source, metadata={"tags": ["graded"]})
    nbformat.write(new_notebook(cells=[cell], metadata=meta), str(path))
    return path


def test_submissions_named_like_the_batchs_files_are_just_submissions(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name in CLAIMED:
        shutil.copy(GOOD, subs / f"{name}.py")
    shutil.copy(WRONG, subs / "wrong.py")
    first = _grader("grade", str(subs), "--assignment", "demo", "--out", str(out), "--jobs", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert (out / "grades.csv").is_file() and (out / "manual" / "points.csv").is_file()
    rows = {r["submission"]: r for r in _rows(out)}
    assert sorted(rows) == sorted([*CLAIMED, "wrong"])
    assert all(rows[n]["score"] == "7" and rows[n]["status"] == "ok" for n in CLAIMED), {n: rows[n]["message"] for n in rows}
    for name in [*CLAIMED, "wrong"]:
        for file in ("results.json", "result.full.json", "feedback.html", "junit.xml", "summary.txt"):
            assert (out / "submissions" / name / file).is_file(), (name, file)
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("submissions/*/results.json")}
    assert len(stamps) == 4

    again = _grader("grade", str(subs), "--assignment", "demo", "--out", str(out))
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("already graded, skipped") == 4, again.stderr
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert sorted(r["submission"] for r in _rows(out)) == sorted([*CLAIMED, "wrong"])
    book = _grader("gradebook", str(out))
    assert book.returncode == 0, book.stderr
    assert "4 submission(s)" in book.stdout


def _legacy(out: Path, name: str, path: Path) -> SubmissionResult:
    """A result as the previous version left it: ``OUT/<name>/``."""
    result = SubmissionResult(name, str(path), "demo", "ok", "graded by the previous version", 5.0, 7.0)
    write_submission(result, out / name)
    return result


def test_a_batch_of_the_flat_layout_resumes_without_regrading(course, tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name in ("alice", "grades.csv"):  # the old layout's collision: OUT/grades.csv/ a folder
        shutil.copy(GOOD, subs / f"{name}.py")
        _legacy(out, name, subs / f"{name}.py")
    lines: list[str] = []
    results = grade_batch([subs], course, out, "demo", CPU, log=lines.append)
    assert [(r.submission, r.score, r.message) for r in results] == [
        ("alice", 5.0, "graded by the previous version"), ("grades.csv", 5.0, "graded by the previous version")]
    assert sum("already graded, skipped" in line for line in lines) == 2, lines
    assert (out / "grades.csv").is_file() and not (out / "alice").exists()
    assert load_full(out / "submissions" / "grades.csv").message == "graded by the previous version"
    assert len(_rows(out)) == 2


def test_the_gradebook_reads_the_flat_layout_too(tmp_path):
    out = tmp_path / "out"
    _legacy(out, "bob", tmp_path / "bob.py")
    write_submission(SubmissionResult("carol", "/x/carol.py", "demo", "ok", "", 7.0, 7.0),
                     out / "submissions" / "carol")
    assert sorted(r.submission for r in load_batch(out)) == ["bob", "carol"]
    book = _grader("gradebook", str(out))
    assert book.returncode == 0, book.stderr
    assert sorted(r["submission"] for r in _rows(out)) == ["bob", "carol"]


# ---------------------------------------------------------------------- one assignment per batch
def test_another_assignments_notebook_gets_an_error_row_and_no_grading(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(GOOD, subs / "good.py")
    _notebook(subs / "stray.ipynb", "demo_feedback", GOOD.read_text("utf-8"))
    results = {r.submission: r for r in grade_batch([subs], course, tmp_path / "out", "demo", CPU)}
    stray = results["stray"]
    assert (stray.status, stray.score, stray.assignment) == ("error", 0.0, "demo")
    assert stray.message.startswith("this notebook was released for demo_feedback, this batch grades demo")
    assert stray.tests == {} and stray.sandbox == {}  # no suite ran on it, no worker started
    assert (results["good"].status, results["good"].score) == ("ok", 7.0)
    row = next(r for r in _rows(tmp_path / "out") if r["submission"] == "stray")
    assert row["status"] == "error" and "released for demo_feedback" in row["message"]


def test_the_batchs_assignment_is_inferred_once_from_files_that_agree(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    _notebook(subs / "one.ipynb", "demo", GOOD.read_text("utf-8"))
    shutil.copy(GOOD, subs / "two_demo.py")  # its name says demo
    lines: list[str] = []
    results = grade_batch([subs], course, tmp_path / "out", None, CPU, log=lines.append)
    assert [(r.submission, r.assignment, r.score) for r in results] == [("one", "demo", 7.0), ("two_demo", "demo", 7.0)]
    assert any(line.startswith("assignment demo:") for line in lines), lines


def test_files_that_disagree_stop_the_batch_with_exit_2(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    _notebook(subs / "a.ipynb", "demo", GOOD.read_text("utf-8"))
    _notebook(subs / "b.ipynb", "demo_feedback", GOOD.read_text("utf-8"))
    shutil.copy(GOOD, subs / "c.py")
    proc = _grader("grade", str(subs), "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "1 file(s) name demo;" in proc.stderr and "1 file(s) name demo_feedback" in proc.stderr
    assert "1 name none (c.py)" in proc.stderr and "--assignment" in proc.stderr
    assert not out.exists()  # nothing graded, nothing written


def test_inference_rules(course, tmp_path):
    with pytest.raises(AssignmentUnclear, match="cannot tell which assignment"):
        batch_assignment([(tmp_path / "x.py", None)], course)
    with pytest.raises(AssignmentUnclear, match="1 name none"):
        batch_assignment([(tmp_path / "a.py", "demo"), (tmp_path / "x.py", None)], course)
    assert batch_assignment([(tmp_path / "a.py", "demo"), (tmp_path / "b.py", "demo")], course) == "demo"
    assert infer_assignment(None, tmp_path / "two_demo.py", course) == "demo"
    assert infer_assignment(None, tmp_path / "my_demo_model.py", course) is None  # names demo and demo_model
    assert infer_assignment(None, tmp_path / "mine.py", course) is None
    assert released_for_another(None, "demo") is None and released_for_another("demo", "demo") is None
    assert released_for_another("demo_feedback", "demo").startswith(
        "this notebook was released for demo_feedback, this batch grades demo")
