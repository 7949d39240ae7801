"""Explanation questions: answers a person grades, collected from markdown cells.

An answer cell is a markdown cell whose first line is ``<!-- ANSWER: <question> -->``
(the marker survives a lost tag, and it is invisible when the notebook is rendered). Its
points are *pending*: shown beside the automatic score, never added to it, until the
instructor merges them with ``grader gradebook``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .config import ManualQuestion
from .notebook import SubmissionFile

ANSWER_MARK = re.compile(r"^\s*<!--\s*ANSWER:\s*(?P<name>[\w.-]+)\s*-->\s*$", re.IGNORECASE)
PROMPT = "*Write your answer here.*"


def answer_name(first_line: str) -> str | None:
    match = ANSWER_MARK.match(first_line)
    return match.group("name") if match else None


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


def write_answers(manual: list[dict], submission: str, path: Path) -> None:
    """The per-submission file the instructor reads (Markdown)."""
    from .results import atomic_write

    lines = [f"# Answers of {submission}", ""]
    for q in manual:
        lines += [f"## {q['name']} ({q['points']:g} points, pending)", ""]
        if q.get("prompt"):
            lines += [f"> {q['prompt']}", ""]
        lines += [q["answer"] or "*(no answer)*", ""]
    atomic_write(path, "\n".join(lines))
