"""Leaderboards: a submission's entry (results.json) and a batch's ranking (OUT/leaderboard.*).

A suite records the quantities of a submission's entry with ``feedback.leaderboard(name,
value, order)`` (:class:`grader.checks.feedback.Feedback`); they travel in
``SubmissionResult.feedback`` as items of kind ``leaderboard``. This module reads them back
(:func:`entries`) for Gradescope's results.json (:func:`grader.reports.results.gradescope`)
and ranks a batch's submissions that have an entry (:func:`leaderboard_rows`) into
``OUT/leaderboard.csv`` (the grader's one CSV dialect, :func:`grader.reports.gradebook.csv_text`)
and ``OUT/leaderboard.html``. Nothing here knows an exercise: the columns are the names the
suite gave, in the order it recorded them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from grader.files import atomic_write
from grader.model import SubmissionResult
from grader.reports.gradebook import csv_text

KIND = "leaderboard"
LEADERBOARD_CSV = "leaderboard.csv"
LEADERBOARD_HTML = "leaderboard.html"
ORDERS = ("asc", "desc")


def entries(result: SubmissionResult) -> list[dict[str, Any]]:
    """The submission's leaderboard quantities as Gradescope's results.json lists them:
    ``{"name", "value", "order"}`` each, in the order the suite recorded them; the first
    of a name counts, malformed items (not a finite number or a string, an unknown order)
    are left out."""
    found: list[dict[str, Any]] = []
    names: set[str] = set()
    for item in result.feedback or []:
        if not isinstance(item, dict) or item.get("kind") != KIND:
            continue
        name, value, order = item.get("name"), item.get("value"), item.get("order", "desc")
        if not isinstance(name, str) or name in names or order not in ORDERS:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        names.add(name)
        found.append({"name": name, "value": value, "order": order})
    return found


def format_value(value: Any) -> str:
    """A leaderboard value as the CSV and the pages show it (floats to 6 significant digits)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _sort_key(value: Any) -> tuple:
    return (0, float(value)) if isinstance(value, (int, float)) else (1, str(value))


def leaderboard_rows(results: Iterable[SubmissionResult]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a batch's leaderboard: one row per submission with an entry.

    Columns: ``rank``, ``submission``, then every quantity's name in the order first recorded.
    Rows are sorted by the first quantity in its order (a name's order is the first one
    recorded for it), ties by the next, then by submission name; a submission without a
    quantity comes after those with it. Submissions whose keys are equal share a rank
    (1, 2, 2, 4).
    """
    table = [(r.submission, {e["name"]: e for e in entries(r)}) for r in results]
    table = [(name, found) for name, found in table if found]
    columns: list[str] = []
    orders: dict[str, str] = {}
    for _, found in table:
        for name, entry in found.items():
            if name not in orders:
                columns.append(name)
                orders[name] = entry["order"]

    def key(row: tuple[str, dict]) -> tuple:
        parts = []
        for column in columns:
            entry = row[1].get(column)
            if entry is None:
                parts.append((1,))
                continue
            kind, value = _sort_key(entry["value"])
            if orders[column] == "desc" and kind == 0:
                value = -value
            parts.append((0, kind, value) if orders[column] == "asc" or kind == 0 else (0, kind, _Reversed(value)))
        return tuple(parts)

    ordered = sorted(table, key=lambda row: (key(row), row[0]))
    rows: list[list[str]] = []
    previous, rank = None, 0
    for position, row in enumerate(ordered, start=1):
        current = key(row)
        if current != previous:
            rank, previous = position, current
        rows.append([str(rank), row[0], *(format_value(row[1][c]["value"]) if c in row[1] else "" for c in columns)])
    header = ["rank", "submission", *(f"{c} ({'higher' if orders[c] == 'desc' else 'lower'} is better)"
                                      for c in columns)]
    return header, rows


class _Reversed:
    """A string that sorts in reverse (a ``desc`` column of strings)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Reversed) -> bool:
        return self.text > other.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)


def leaderboard_csv(results: Iterable[SubmissionResult]) -> str:
    return csv_text(*leaderboard_rows(results))


def leaderboard_html(results: Iterable[SubmissionResult], title: str = "Leaderboard") -> str:
    """A self-contained page with the table of :func:`leaderboard_rows` (every value escaped)."""
    header, rows = leaderboard_rows(results)
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    style = ("body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
             "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .7rem;text-align:left}"
             "th{background:#f3f3f3}tr:first-child td{font-weight:bold}td{font-variant-numeric:tabular-nums}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{style}</style></head><body>\n"
            f"<h1>{escape(title)}</h1>\n<p>{len(rows)} submission(s) with a leaderboard entry; "
            "sorted by the first column, ties by the next.</p>\n"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n</body></html>\n")


def write_leaderboard(results: list[SubmissionResult], out: Path, title: str = "Leaderboard") -> bool:
    """``OUT/leaderboard.csv`` and ``OUT/leaderboard.html`` when some submission has an entry
    (True); else neither (a previous run's files are removed: they would rank nothing of this
    batch) and False."""
    out = Path(out)
    if not any(entries(r) for r in results):
        for name in (LEADERBOARD_CSV, LEADERBOARD_HTML):
            (out / name).unlink(missing_ok=True)
        return False
    atomic_write(out / LEADERBOARD_CSV, leaderboard_csv(results))
    atomic_write(out / LEADERBOARD_HTML, leaderboard_html(results, title))
    return True
