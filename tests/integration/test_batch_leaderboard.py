"""A batch writes OUT/leaderboard.csv and OUT/leaderboard.html from its submissions' entries.

The results are written first (as graded by an earlier run), so the batch resumes them all and
grades nothing: what is tested is the batch's call of grader.reports.leaderboard, not a suite.
"""

from __future__ import annotations

import csv
import io
import shutil

from grader.batch.batch import grade_batch
from grader.batch.device import DeviceChoice
from grader.checks.feedback import Feedback
from grader.model import SubmissionResult
from grader.reports.results import write_submission
from tests.conftest import COURSE_DIR

GOOD = COURSE_DIR / "submissions" / "good.py"


def _graded(name: str, accuracy: float | None) -> SubmissionResult:
    board = Feedback("test_trains")
    if accuracy is not None:
        board.leaderboard("Test accuracy", accuracy)
        board.leaderboard("Training seconds", 3.5, "asc")
    return SubmissionResult(name, f"/x/{name}.py", "demo", "ok", "", 5.0, 5.0, feedback=board.items)


def test_a_resumed_batch_ranks_the_entries(course, tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name, accuracy in (("alice", 0.81), ("bob", 0.87), ("carol", None)):
        shutil.copy(GOOD, subs / f"{name}.py")
        write_submission(_graded(name, accuracy), out / "submissions" / name)
    lines: list[str] = []
    grade_batch([subs], course, out, "demo", DeviceChoice("cpu", 0), log=lines.append)
    assert sum("already graded, skipped" in line for line in lines) == 3, lines
    rows = list(csv.reader(io.StringIO((out / "leaderboard.csv").read_text("utf-8"))))
    assert rows == [["rank", "submission", "Test accuracy (higher is better)", "Training seconds (lower is better)"],
                    ["1", "bob", "0.87", "3.5"], ["2", "alice", "0.81", "3.5"]]  # carol: no entry
    page = (out / "leaderboard.html").read_text("utf-8")
    assert "Leaderboard: demo" in page and page.index("bob") < page.index("alice") and "carol" not in page


def test_a_batch_without_entries_writes_no_leaderboard(course, tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    shutil.copy(GOOD, subs / "dave.py")
    write_submission(_graded("dave", None), out / "submissions" / "dave")
    grade_batch([subs], course, out, "demo", DeviceChoice("cpu", 0))
    assert (out / "grades.csv").is_file()
    assert not (out / "leaderboard.csv").exists() and not (out / "leaderboard.html").exists()
