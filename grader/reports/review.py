"""Explanation answers for a person to grade: per-submission answer files, per-question
review files of a batch, and ``grader gradebook``'s merge of the points given.

Answers are collected by :mod:`grader.source.answers`; their points are pending until merged.
An answer is the student's text, and so *data* in these Markdown files: each sits in its own
fenced code block, longer than any run of backticks inside it, so a heading, an HTML comment
or a fence in an answer is shown as text and can neither forge another submission's section
nor hide one; names in headings are escaped.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from grader.files import atomic_write
from grader.reports.gradebook import csv_text, gradebook_rows

_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_INLINE_SPECIAL = re.compile(r"([\\`*\[\]<>#&!|~])")


def inline_text(text: str) -> str:
    """``text`` as one line of literal Markdown text (a heading's): line breaks become spaces,
    the characters that start markup (``<``, ``#``, ``[``, backticks, ``*``...) are escaped."""
    return _INLINE_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)))


def fenced(text: str) -> list[str]:
    """``text`` as a fenced code block: its fence is longer than any run of backticks in it
    (at least 3), so nothing inside can close it; headings and HTML inside stay text."""
    text = str(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", text, fence]


def _quote(prompt: str) -> list[str]:
    """The course's prompt as a block quote, every line of it."""
    return [f"> {line}" for line in _LINE_BREAKS.split(str(prompt))]


def _answer(answer: str) -> list[str]:
    return fenced(answer) if answer else ["*(no answer)*"]


def write_answers(manual: list[dict], submission: str, path: Path) -> None:
    """The per-submission file the instructor reads (Markdown); each answer in a fence."""
    lines = [f"# Answers of {inline_text(submission)}", ""]
    for q in manual:
        lines += [f"## {inline_text(q['name'])} ({q['points']:g} points, pending)", ""]
        if q.get("prompt"):
            lines += [*_quote(q["prompt"]), ""]
        lines += [*_answer(q.get("answer") or ""), ""]
    atomic_write(path, "\n".join(lines))


# ---------------------------------------------------------------------- reviewing a batch
REVIEW_DIR = "manual"
POINTS_CSV = "points.csv"
POINTS_COLUMNS = ["submission", "question", "points", "comment"]


class ManualPointsError(ValueError):
    """points.csv does not fit the graded batch; str() lists every bad line."""


def _file_name(question: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", question).strip("._") or "question"


def write_review(results: list, out: Path) -> list[Path]:
    """One Markdown file per question with every submission's answer, and a points template.

    ``<out>/manual/<question>.md`` lists the answers under a heading per submission, each
    answer in its own fenced code block (:func:`fenced`);
    ``<out>/manual/points.csv`` has a row per (submission, question) to fill in. Rows the
    instructor already filled in are kept: re-grading a batch never loses points given.
    An empty answer is pre-filled with 0 points and the comment "no answer".
    """

    questions: dict[str, dict] = {}
    for r in sorted(results, key=lambda r: r.submission):
        for q in r.manual:
            questions.setdefault(q["name"], {"points": q["points"], "prompt": q.get("prompt", ""), "answers": []})
            questions[q["name"]]["answers"].append((r.submission, q.get("answer", "")))
    if not questions:
        return []
    folder = Path(out) / REVIEW_DIR
    written = []
    for name, q in questions.items():
        answered = sum(1 for _, a in q["answers"] if a)
        lines = [f"# {inline_text(name)} ({q['points']:g} point{'' if q['points'] == 1 else 's'})", ""]
        if q["prompt"]:
            lines += [*_quote(q["prompt"]), ""]
        lines += [f"{answered} of {len(q['answers'])} submissions answered. Give points in `{POINTS_CSV}`.", ""]
        for submission, answer in q["answers"]:
            lines += [f"## {inline_text(submission)}", "", *_answer(answer or ""), ""]
        path = folder / f"{_file_name(name)}.md"
        atomic_write(path, "\n".join(lines))
        written.append(path)

    csv_path = folder / POINTS_CSV
    kept: dict[tuple[str, str], dict] = {}
    if csv_path.is_file():
        for row in csv.DictReader(io.StringIO(csv_path.read_text("utf-8"))):
            kept[(row.get("submission", ""), row.get("question", ""))] = row
    rows = []
    for name, q in questions.items():
        for submission, answer in q["answers"]:
            old = kept.pop((submission, name), None)
            auto = old is not None and (old.get("points"), old.get("comment")) == ("0", "no answer")
            if old is not None and (old.get("points") or old.get("comment")) and not (auto and answer):
                rows.append([submission, name, old.get("points", ""), old.get("comment", "")])
            else:
                rows.append([submission, name, "" if answer else "0", "" if answer else "no answer"])
    rows += [[k[0], k[1], v.get("points", ""), v.get("comment", "")] for k, v in kept.items()]  # never drop a row
    rows.sort(key=lambda r: (r[0], r[1]))
    atomic_write(csv_path, csv_text(POINTS_COLUMNS, rows))
    return [*written, csv_path]


def read_points(path: Path, results: list) -> dict[tuple[str, str], float]:
    """Manual points from ``path`` checked against the batch: {(submission, question): points}.

    Blank points mean "not graded yet" (still pending). Raises :class:`ManualPointsError`
    listing every unknown submission or question, non-number, and out-of-range value.
    """

    maxima = {(r.submission, q["name"]): float(q["points"]) for r in results for q in r.manual}
    known_subs = {r.submission for r in results}
    text = Path(path).read_text("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("submission", "question", "points") if c not in (reader.fieldnames or [])]
    if missing:
        raise ManualPointsError(f"{path}: missing column(s) {', '.join(missing)} (expected {','.join(POINTS_COLUMNS)})")
    points: dict[tuple[str, str], float] = {}
    errors = []
    for line, row in enumerate(reader, start=2):
        sub, question, raw = (row.get("submission") or "").strip(), (row.get("question") or "").strip(), (row.get("points") or "").strip()
        if not sub and not question and not raw:
            continue
        key = (sub, question)
        if sub not in known_subs:
            errors.append(f"line {line}: no graded submission {sub!r} in this folder")
            continue
        if key not in maxima:
            errors.append(f"line {line}: {sub} has no explanation question {question!r}")
            continue
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            errors.append(f"line {line}: points {raw!r} is not a number")
            continue
        if not 0 <= value <= maxima[key]:
            errors.append(f"line {line}: {value:g} points for {sub}/{question} is outside 0..{maxima[key]:g}")
            continue
        if key in points and points[key] != value:
            errors.append(f"line {line}: {sub}/{question} is graded twice ({points[key]:g} and {value:g})")
            continue
        points[key] = value
    if errors:
        raise ManualPointsError(f"{path}:\n  " + "\n  ".join(errors))
    return points


def merged_gradebook(results: list, points: dict[tuple[str, str], float]) -> tuple[list[str], list[list[str]]]:
    """grades.csv's columns plus one column per question, ``pending_manual`` updated, ``total``."""
    header, body = gradebook_rows(results)
    questions: list[str] = []
    for r in results:
        for q in r.manual:
            if q["name"] not in questions:
                questions.append(q["name"])
    by_name = {r.submission: r for r in results}
    pending_col = header.index("pending_manual")
    insert_at = header.index("message")
    new_header = header[:insert_at] + [f"manual:{q}" for q in questions] + ["total", "max_total"] + header[insert_at:]
    new_body = []
    for row in body:
        r = by_name[row[0]]
        asked = {q["name"]: float(q["points"]) for q in r.manual}
        given = {q: points[(r.submission, q)] for q in asked if (r.submission, q) in points}
        row = list(row)
        row[pending_col] = f"{sum(p for q, p in asked.items() if q not in given):g}"
        cells = [f"{given[q]:g}" if q in given else "" for q in questions]
        total = float(r.score) + sum(given.values())
        new_body.append(row[:insert_at] + cells + [f"{total:g}", f"{float(r.max_score) + sum(asked.values()):g}"]
                        + row[insert_at:])
    return new_header, new_body
