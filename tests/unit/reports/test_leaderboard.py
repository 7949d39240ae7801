"""Leaderboards: feedback.leaderboard's items, results.json's ``leaderboard`` (Gradescope's
format), the batch's OUT/leaderboard.csv and leaderboard.html, and feedback.html's entry."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from grader.checks.feedback import Feedback
from grader.model import SubmissionResult
from grader.reports.gradebook import csv_text
from grader.reports.html import render
from grader.reports.leaderboard import (
    LEADERBOARD_CSV,
    LEADERBOARD_HTML,
    entries,
    leaderboard_csv,
    leaderboard_html,
    leaderboard_rows,
    write_leaderboard,
)
from grader.reports.results import gradescope, write_submission


def result(name: str, *quantities: tuple, status: str = "ok") -> SubmissionResult:
    """A graded submission whose suite recorded ``quantities`` ((name, value, order) each)."""
    board = Feedback("test_trains")
    for quantity in quantities:
        board.leaderboard(*quantity)
    return SubmissionResult(submission=name, path=f"{name}.ipynb", assignment="demo", status=status,
                            message="", score=1.0, max_score=1.0, feedback=list(board.items))


def entry(accuracy: float, params: int, seconds: float) -> tuple:
    return (("Test accuracy", accuracy, "desc"), ("Parameters", params, "asc"), ("Training seconds", seconds, "asc"))


# --------------------------------------------------------------------------- the suite's side


def test_feedback_records_plain_items():
    board = Feedback("test_x")
    board.leaderboard("Accuracy", np.float32(0.875))
    board.leaderboard("Parameters", np.int64(1234), "asc")
    board.leaderboard("Stars", "***")
    assert board.items == [
        {"test": "test_x", "kind": "leaderboard", "name": "Accuracy", "value": 0.875, "order": "desc"},
        {"test": "test_x", "kind": "leaderboard", "name": "Parameters", "value": 1234, "order": "asc"},
        {"test": "test_x", "kind": "leaderboard", "name": "Stars", "value": "***", "order": "desc"},
    ]
    assert type(board.items[1]["value"]) is int  # JSON-ready, not a numpy scalar
    json.dumps(board.items)


@pytest.mark.parametrize("value, order, error", [
    (0.5, "up", ValueError), (float("nan"), "desc", ValueError), (float("inf"), "asc", ValueError),
    (True, "desc", TypeError), ([1], "desc", TypeError), (None, "desc", TypeError),
])
def test_feedback_refuses_what_gradescope_cannot_rank(value, order, error):
    board = Feedback("test_x")
    with pytest.raises(error):
        board.leaderboard("q", value, order)
    assert board.items == []


# --------------------------------------------------------------------------- results.json


def test_results_json_has_gradescopes_leaderboard_section():
    data = gradescope(result("ada", *entry(0.8512, 56714, 4.2)))
    # Gradescope: a top-level "leaderboard" array of {"name", "value", "order"} objects
    assert data["leaderboard"] == [
        {"name": "Test accuracy", "value": 0.8512, "order": "desc"},
        {"name": "Parameters", "value": 56714, "order": "asc"},
        {"name": "Training seconds", "value": 4.2, "order": "asc"},
    ]
    assert json.loads(json.dumps(data))["leaderboard"] == data["leaderboard"]


def test_no_entry_no_leaderboard_key():
    plain = result("bob")
    plain.feedback = [{"test": "t", "kind": "text", "title": "x", "text": "y"}]
    assert "leaderboard" not in gradescope(plain)


def test_malformed_and_repeated_items_are_left_out():
    r = result("eve", ("Accuracy", 0.5, "desc"), ("Accuracy", 0.9, "desc"))
    r.feedback += [{"test": "t", "kind": "leaderboard", "name": "bad order", "value": 1, "order": "up"},
                   {"test": "t", "kind": "leaderboard", "name": "nan", "value": float("nan"), "order": "asc"},
                   {"test": "t", "kind": "leaderboard", "name": "list", "value": [1], "order": "asc"},
                   {"test": "t", "kind": "leaderboard", "name": 3, "value": 1, "order": "asc"}]
    assert entries(r) == [{"name": "Accuracy", "value": 0.5, "order": "desc"}]


def test_written_results_json_carries_the_entry(tmp_path):
    write_submission(result("ada", *entry(0.85, 1000, 3.0)), tmp_path / "ada")
    data = json.loads((tmp_path / "ada" / "results.json").read_text("utf-8"))
    assert [e["name"] for e in data["leaderboard"]] == ["Test accuracy", "Parameters", "Training seconds"]
    page = (tmp_path / "ada" / "feedback.html").read_text("utf-8")
    assert "Leaderboard entry" in page and "0.85" in page and "lower is better" in page


def test_feedback_html_escapes_the_entry():
    page = render(result("x", ("<b>q</b>", "<script>alert(1)</script>", "desc")))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and "&lt;b&gt;q" in page


# --------------------------------------------------------------------------- the batch's leaderboard


def batch():
    return [
        result("slow_but_good", *entry(0.86, 150000, 30.0)),
        result("small", *entry(0.84, 20000, 3.0)),
        result("tie_a", *entry(0.85, 50000, 5.0)),
        result("tie_b", *entry(0.85, 50000, 5.0)),
        result("fewer_params", *entry(0.85, 40000, 9.0)),
        result("over_budget"),  # no entry: not on the leaderboard
    ]


def test_rows_sorted_by_the_first_quantity_then_the_next():
    header, rows = leaderboard_rows(batch())
    assert header == ["rank", "submission", "Test accuracy (higher is better)",
                      "Parameters (lower is better)", "Training seconds (lower is better)"]
    assert [r[1] for r in rows] == ["slow_but_good", "fewer_params", "tie_a", "tie_b", "small"]
    assert [r[0] for r in rows] == ["1", "2", "3", "3", "5"]  # equal keys share a rank
    assert rows[0][2:] == ["0.86", "150000", "30"]


def test_a_missing_quantity_ranks_after_those_with_it():
    results = [result("no_time", ("Accuracy", 0.9, "desc")),
               result("both", ("Accuracy", 0.9, "desc"), ("Seconds", 2.0, "asc")),
               result("low", ("Accuracy", 0.1, "desc"), ("Seconds", 1.0, "asc"))]
    header, rows = leaderboard_rows(results)
    assert [r[1] for r in rows] == ["both", "no_time", "low"]
    assert rows[1][3] == ""


def test_string_values_sort_in_their_order():
    results = [result("a", ("Grade", "B", "desc")), result("b", ("Grade", "C", "desc")),
               result("c", ("Grade", "A", "desc"))]
    assert [r[1] for r in leaderboard_rows(results)[1]] == ["b", "a", "c"]
    results = [result("a", ("Grade", "B", "asc")), result("b", ("Grade", "C", "asc"))]
    assert [r[1] for r in leaderboard_rows(results)[1]] == ["a", "b"]


def test_csv_is_the_grader_dialect_and_parses_back():
    text = leaderboard_csv(batch())
    assert text == csv_text(*leaderboard_rows(batch()))
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0][:2] == ["rank", "submission"] and len(parsed) == 1 + 5
    assert "over_budget" not in text


def test_page_lists_the_rows_escaped():
    results = [result("<img src=x onerror=alert(1)>", ("Accuracy", 0.5, "desc"))]
    page = leaderboard_html(results, title="Leaderboard: <demo>")
    assert "<img src=x" not in page and "&lt;img src=x" in page and "Leaderboard: &lt;demo&gt;" in page
    assert page.count("<tr>") == 2  # the header and one submission


def test_write_leaderboard_writes_both_files_or_none(tmp_path):
    assert write_leaderboard(batch(), tmp_path, "Leaderboard: demo") is True
    assert (tmp_path / LEADERBOARD_CSV).read_text("utf-8").splitlines()[1].startswith("1,slow_but_good,")
    assert "Leaderboard: demo" in (tmp_path / LEADERBOARD_HTML).read_text("utf-8")
    # a batch without entries (another suite, --force): a previous run's files would rank nothing of it
    assert write_leaderboard([result("x")], tmp_path) is False
    assert not (tmp_path / LEADERBOARD_CSV).exists() and not (tmp_path / LEADERBOARD_HTML).exists()
