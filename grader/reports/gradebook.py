"""``grades.csv``: one row per submission, written in one CSV dialect by every command.

``grader grade`` writes it after each submission; ``grader gradebook`` rewrites it with the
manual points merged (:mod:`grader.reports.review`). Both go through :func:`csv_text`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from grader.model import SubmissionResult

BASE_COLUMNS = ["submission", "assignment", "status", "score", "max_score", "pending_manual", "message"]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The grader's CSV dialect: Excel's quoting, ``\n`` line ends, UTF-8 when written."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def gradebook_rows(results: list[SubmissionResult]) -> tuple[list[str], list[list[str]]]:
    """One row per submission: submission, assignment, status, score, max_score, pending, tests."""
    columns: list[str] = []
    for r in results:
        for name in r.tests:
            if name not in columns:
                columns.append(name)
    rows = []
    for r in sorted(results, key=lambda r: r.submission):
        row = [r.submission, r.assignment or "", r.status, f"{r.score:g}", f"{r.max_score:g}",
               f"{r.pending_points:g}", r.message]
        row += [f"{r.tests[c].score:g}" if c in r.tests else "" for c in columns]
        rows.append(row)
    return [*BASE_COLUMNS, *columns], rows


def gradebook_csv(results: list[SubmissionResult]) -> str:
    return csv_text(*gradebook_rows(results))
