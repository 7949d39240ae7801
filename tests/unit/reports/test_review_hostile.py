"""The instructor's review files hold students' answers as data, never as Markdown.

An explanation answer is free text from the student's notebook. Written into
``OUT/manual/<question>.md`` as Markdown it could forge another submission's section
(``\\n## other_student``) or hide the rest of the file (an unclosed ``<!--``). Each answer
sits in its own fence, longer than any backtick run inside it; names in headings are
escaped; points.csv is written and read by the csv module, so a name can add no row.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from grader.model import SubmissionResult
from grader.reports.review import (
    POINTS_CSV,
    REVIEW_DIR,
    fenced,
    read_points,
    write_answers,
    write_review,
)

FORGED = "I think so.\n## other_student\n<!--"
BACKTICKS = "text ``` more\n````\n## forged_after_fence\n`````python\n<!-- hidden"
HOSTILE_ANSWERS = [FORGED, BACKTICKS, "\r## carriage\r<!--", "## first line is a heading"]


def _result(name: str, answer: str) -> SubmissionResult:
    return SubmissionResult(name, f"/subs/{name}.py", "demo", "ok", "", 1.0, 7.0,
                            manual=[{"name": "why", "points": 2, "prompt": "Why?", "answer": answer}])


_OPEN = re.compile(r"^ {0,3}(`{3,})[^`]*$")


def _structure(text: str) -> tuple[list[str], list[str]]:
    """(lines outside any fenced code block, the contents of each fenced block), following
    CommonMark's fence rules (line endings: \\n, \\r\\n and \\r)."""
    outside, blocks = [], []
    fence, body = "", []
    for line in re.split(r"\r\n|\r|\n", text):
        if fence:
            if re.fullmatch(rf" {{0,3}}`{{{len(fence)},}}[ \t]*", line):
                blocks.append("\n".join(body))
                fence, body = "", []
            else:
                body.append(line)
            continue
        opened = _OPEN.match(line)
        if opened:
            fence = opened.group(1)
            continue
        outside.append(line)
    assert not fence, "a fence was left open: the rest of the file would be code"
    return outside, blocks


def _lines(answer: str) -> str:
    return "\n".join(re.split(r"\r\n|\r|\n", answer))


@pytest.fixture
def review(tmp_path: Path) -> tuple[str, list[SubmissionResult]]:
    results = [_result(f"student_{i}", answer) for i, answer in enumerate(HOSTILE_ANSWERS)]
    results.append(_result("quiet", ""))
    write_review(results, tmp_path)
    return (tmp_path / REVIEW_DIR / "why.md").read_text("utf-8"), results


def test_hostile_answers_add_no_heading_and_hide_nothing(review):
    text, results = review
    outside, blocks = _structure(text)
    headings = [line for line in outside if line.startswith("## ")]
    assert headings == [f"## {r.submission}" for r in sorted(results, key=lambda r: r.submission)]
    assert not any("<!--" in line for line in outside)  # no comment opened outside a fence
    for answer in HOSTILE_ANSWERS:  # every answer whole, in a fence of its own
        assert _lines(answer) in blocks, answer
    assert len(blocks) == len(HOSTILE_ANSWERS)
    assert "*(no answer)*" in outside


def test_a_markdown_parser_sees_one_section_per_submission(review):
    markdown_it = pytest.importorskip("markdown_it")
    text, results = review
    tokens = markdown_it.MarkdownIt("commonmark").parse(text)
    h2 = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    assert h2 == sorted(r.submission for r in results)
    fences = [t.content for t in tokens if t.type == "fence"]
    assert sorted(fences) == sorted(_lines(a) + "\n" for a in HOSTILE_ANSWERS)
    assert [t for t in tokens if t.type in ("html_block", "html_inline")] == []


def test_the_fence_is_longer_than_any_backtick_run():
    assert fenced("plain")[0] == "```text"
    assert fenced("a ```` b")[0] == "`````text" and fenced("a ```` b")[-1] == "`````"


def test_names_in_headings_are_escaped(tmp_path):
    results = [_result("a\n## forged <b>x</b> #", "answer"), _result("b", "other")]
    write_review(results, tmp_path)
    outside, _ = _structure((tmp_path / REVIEW_DIR / "why.md").read_text("utf-8"))
    headings = [line for line in outside if line.startswith("## ")]
    assert len(headings) == 2
    assert "\\<b\\>" in headings[0] and "\\#" in headings[0] and "<b>" not in headings[0].replace("\\<b\\>", "")


def test_the_per_submission_answers_file_is_fenced_too(tmp_path):
    path = tmp_path / "manual_answers.md"
    write_answers(_result("student", FORGED).manual, "student\n# forged", path)
    outside, blocks = _structure(path.read_text("utf-8"))
    assert [line for line in outside if line.startswith("#")] == ["# Answers of student \\# forged",
                                                                  "## why (2 points, pending)"]
    assert blocks == [_lines(FORGED)]


def test_a_hostile_name_adds_no_row_to_points_csv(tmp_path):
    names = ['evil\nmallory,why,2,', 'quote",why,2,"x', "plain"]
    results = [_result(name, "" if name == "plain" else "an answer") for name in names]
    write_review(results, tmp_path)
    path = tmp_path / REVIEW_DIR / POINTS_CSV
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))
    assert sorted((r["submission"], r["question"]) for r in rows) == sorted((n, "why") for n in names)
    assert read_points(path, results) == {("plain", "why"): 0.0}  # "no answer" is pre-filled with 0
    for row in rows:  # the instructor fills every row in; the names read back whole
        row["points"] = "1"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), "utf-8")
    assert read_points(path, results) == {(n, "why"): 1.0 for n in names}
