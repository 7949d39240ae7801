"""Instructor review after a real `grader grade` batch, `grader gradebook`, and the JUnit XML.

The batch grades three demo submissions in fresh runner processes; it leaves
``<out>/manual/why.md`` (every answer under a heading) and ``<out>/manual/points.csv``.
Tests that edit files work on a copy of the batch's folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[2] / "course"
GRADER = [sys.executable, "-m", "grader.cli", "--config", str(COURSE / "autograder.toml")]

ALICE = '''# %%
def add(a, b):
    return a * b

ANSWER = 42

# %% [markdown]
# <!-- ANSWER: why -->
# Because 6 x 7 = 42; see <b>this</b>.
'''


def _grader(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_OFFLINE": "1"}
    proc = subprocess.run([*GRADER, *args], capture_output=True, text=True, env=env, timeout=180)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("review")
    subs = tmp / "subs"
    subs.mkdir()
    shutil.copy(COURSE / "submissions" / "good.py", subs / "good.py")
    shutil.copy(COURSE / "submissions" / "master_copy.ipynb", subs / "master_copy.ipynb")
    (subs / "alice.py").write_text(ALICE, "utf-8")
    out = tmp / "out"
    _grader("grade", str(subs), "--assignment", "demo", "--out", str(out), "--quiet", "--jobs", "2")
    return out


@pytest.fixture
def out(batch, tmp_path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(batch, copy)
    return copy


def _csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


def test_answers_are_collected_per_question(batch):
    text = (batch / "manual" / "why.md").read_text("utf-8")
    assert text.startswith("# why (2 points)\n\n> Why?")
    assert "2 of 3 submissions answered" in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## alice", "## good", "## master_copy"]
    alice = text.split("## alice", 1)[1].split("## good", 1)[0]
    assert "Because 6 x 7 = 42; see <b>this</b>." in alice
    good = text.split("## good", 1)[1].split("## master_copy", 1)[0]
    assert "*(no answer)*" in good
    assert "Because 6 * 7 = 42." in text.split("## master_copy", 1)[1]


def test_points_template_has_a_row_per_submission_and_question(batch):
    rows = _csv(batch / "manual" / "points.csv")
    assert list(rows[0]) == ["submission", "question", "points", "comment"]
    assert [(r["submission"], r["question"], r["points"], r["comment"]) for r in rows] == [
        ("alice", "why", "", ""), ("good", "why", "0", "no answer"), ("master_copy", "why", "", "")]


def _fill(out: Path, points: dict[str, str]) -> None:
    path = out / "manual" / "points.csv"
    rows = _csv(path)
    for r in rows:
        if r["submission"] in points:
            r["points"], r["comment"] = points[r["submission"]], "graded"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["submission", "question", "points", "comment"])
        writer.writeheader()
        writer.writerows(rows)


def test_gradebook_merges_manual_points_and_totals(out):
    _fill(out, {"alice": "1.5", "master_copy": "2"})
    proc = _grader("gradebook", str(out))
    assert "manual points 3 of 3 given" in proc.stdout
    rows = {r["submission"]: r for r in _csv(out / "grades.csv")}
    assert rows["alice"]["score"] == "1" and rows["alice"]["manual:why"] == "1.5" and rows["alice"]["total"] == "2.5"
    assert rows["good"]["manual:why"] == "0" and rows["good"]["total"] == "7"
    assert rows["master_copy"]["total"] == "9" and rows["master_copy"]["max_total"] == "9"
    assert all(r["pending_manual"] == "0" for r in rows.values())
    assert rows["alice"]["test_add_small"] == "0"  # the per-check columns are kept


def test_blank_points_stay_pending(out):
    proc = _grader("gradebook", str(out))  # the template as written: only `good` (no answer) has points
    assert "manual points 1 of 3 given" in proc.stdout
    rows = {r["submission"]: r for r in _csv(out / "grades.csv")}
    assert rows["alice"]["manual:why"] == "" and rows["alice"]["pending_manual"] == "2"
    assert rows["alice"]["total"] == "1"


def test_regrading_keeps_the_points_already_given(out, tmp_path):
    _fill(out, {"alice": "1"})
    # re-run the batch on the same folder: all already graded (skipped), the review is rewritten
    subs = Path(json.loads((out / "submissions" / "alice" / "result.full.json").read_text("utf-8"))["path"]).parent
    _grader("grade", str(subs), "--assignment", "demo", "--out", str(out), "--quiet")
    assert "2 of 3 submissions answered" in (out / "manual" / "why.md").read_text("utf-8")
    rows = {r["submission"]: r for r in _csv(out / "manual" / "points.csv")}
    assert rows["alice"]["points"] == "1" and rows["alice"]["comment"] == "graded"
    proc = _grader("gradebook", str(out), "--markdown")
    assert "| submission | assignment | status | score | max_score | manual:why |" in proc.stdout
    assert "| alice | demo | ok | 1 | 7 | 1 | 0 | 2 | 9 |" in proc.stdout


def test_bad_points_are_refused_and_grades_csv_is_untouched(out, tmp_path):
    before = (out / "grades.csv").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("submission,question,points,comment\nalice,why,5,\nbob,why,1,\ngood,how,1,\nmaster_copy,why,lots,\n")
    proc = _grader("gradebook", str(out), "--manual", str(bad), check=False)
    assert proc.returncode == 1
    for needle in ("line 2: 5 points for alice/why is outside 0..2", "line 3: no graded submission 'bob'",
                   "line 4: good has no explanation question 'how'", "line 5: points 'lots' is not a number"):
        assert needle in proc.stderr
    assert (out / "grades.csv").read_bytes() == before


# ---------------------------------------------------------------------- JUnit XML
def _check_junit(root: ET.Element) -> None:
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) == int(root.get("tests"))
    assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
    assert int(suite.get("errors")) == len(suite.findall("testcase/error"))
    float(suite.get("time"))
    for case in cases:
        assert case.get("name") and case.get("classname")
        float(case.get("time"))
        for failure in case.findall("failure"):
            assert failure.get("message") is not None and failure.text


def test_junit_xml_of_the_batch_is_valid(batch):
    files = sorted(batch.glob("submissions/*/junit.xml"))
    assert len(files) == 3
    failures = 0
    for path in files:
        root = ET.parse(path).getroot()
        _check_junit(root)
        failures += len(root.findall("testsuite/testcase/failure"))
    alice = ET.parse(batch / "submissions" / "alice" / "junit.xml").getroot()
    failed = {c.get("name"): c.find("failure") for c in alice.iter("testcase") if c.find("failure") is not None}
    assert "test_add_small" in failed and "you multiplied" in failed["test_add_small"].get("message")
    assert failures == len(failed) == 4  # alice: add x2, mean x2 failing; good and master_copy: none


def test_junit_xml_survives_control_characters_and_errors():
    from grader.model import SubmissionResult, TestResult
    from grader.reports.results import junit_xml

    result = SubmissionResult(
        "s", "s.py", "demo", "timeout", "your code ran longer than 30 s \x07", 0.0, 2.0,
        tests={"t1": TestResult("t1", "t1", 0.0, 1.0, "failed", "\x1b[31mValueError\x1b[0m: bad \x00 byte", False, None),
               "t2": TestResult("t2", "t2", 1.0, 1.0, "passed", "", False, None)})
    root = ET.fromstring(junit_xml(result).encode("utf-8"))
    _check_junit(root)
    assert root.find("testsuite/testcase/failure").text.startswith("ValueError: bad")
    error = root.find("testsuite/testcase/error")
    assert error.get("type") == "timeout" and "longer than 30 s" in error.get("message")
