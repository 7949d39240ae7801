"""`grader grade --assignment each`: an instructor's own mixed folder (the README's example
batch), every file graded against the assignment it names itself, one group after another;
a file that names none gets an error row. Without it a batch grades one assignment."""

from __future__ import annotations

import shutil

import pytest

from grader.batch.batch import EACH, grade_batch
from grader.batch.device import DeviceChoice
from grader.config import ConfigError
from grader.reports.results import load_full
from tests.conftest import COURSE_DIR

CPU = DeviceChoice("cpu", 0)


@pytest.fixture
def mixed(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(COURSE_DIR / "demo" / "demo.ipynb", folder / "alice.ipynb")  # metadata: demo
    shutil.copy(COURSE_DIR / "demo_feedback" / "demo_feedback.ipynb", folder / "bob.ipynb")  # demo_feedback
    shutil.copy(COURSE_DIR / "submissions" / "good.py", folder / "carol.py")  # names no assignment
    return folder


def test_each_file_is_graded_against_its_own_assignment(course, mixed, tmp_path):
    out = tmp_path / "out"
    rows = {r.submission: r for r in grade_batch([mixed], course, out, EACH, CPU, jobs=1)}
    assert (rows["alice"].assignment, rows["alice"].score, rows["alice"].max_score) == ("demo", 7.0, 7.0)
    assert rows["bob"].assignment == "demo_feedback" and rows["bob"].score == rows["bob"].max_score > 0
    assert rows["carol"].status == "error" and "cannot tell which assignment" in rows["carol"].message
    assert load_full(out / "submissions" / "alice").assignment == "demo"
    grades = (out / "grades.csv").read_text().splitlines()
    assert len(grades) == 4  # header + one row each
    again = {r.submission: r for r in grade_batch([mixed], course, out, EACH, CPU, jobs=1)}  # resumes
    assert again["alice"].score == 7.0 and again["bob"].score == rows["bob"].score


def test_without_each_a_mixed_folder_stops_before_grading(course, mixed, tmp_path):
    with pytest.raises(ConfigError, match="do not agree on one assignment"):
        grade_batch([mixed], course, tmp_path / "out", None, CPU, jobs=1)
    assert not (tmp_path / "out" / "grades.csv").exists()
