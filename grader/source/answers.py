"""Explanation questions: answers a person grades, collected from markdown cells.

An answer cell starts with ``<!-- ANSWER: <question> -->`` (:mod:`grader.source.markers`).
Its points are *pending*: shown beside the automatic score, never added to it, until the
instructor merges them with ``grader gradebook`` (:mod:`grader.reports.review`).
"""

from __future__ import annotations

from collections.abc import Iterable

from grader.config import ManualQuestion
from grader.source.markers import PROMPT, answer_name
from grader.source.notebook import SubmissionFile


def collect_answers(sub: SubmissionFile, questions: Iterable[ManualQuestion]) -> list[dict]:
    """One entry per configured question: its answer text ('' when unanswered)."""
    found: dict[str, str] = {}
    for cell in sub.cells:
        if cell.kind != "markdown":
            continue
        name = answer_name(cell.first_line)
        if name:
            body = cell.source.split("\n", 1)[1] if "\n" in cell.source else ""
            body = body.strip()
            found[name] = "" if body == PROMPT else body
    return [
        {"name": q.name, "points": q.points, "prompt": q.prompt, "answer": found.get(q.name, "")}
        for q in questions
    ]
