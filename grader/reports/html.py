"""``feedback.html``: one self-contained page per graded submission.

The page shows the score check by check with the messages a student reads, the pictures
and tables the suite attached (:mod:`grader.checks.feedback`: PNGs inline as ``data:`` URIs,
mismatching table rows highlighted), problems found while reading the code, and the
explanation questions still waiting for a person.

Everything that comes from a submission is student-influenced text (messages quote the
student's values and errors, answers are the student's prose, even check names carry
parameters), so every string is escaped with :func:`html.escape`; a picture is only
embedded when its payload is a real PNG. The page has no scripts and loads nothing.

By default (``hidden=False``) it is safe to hand to the student: a hidden check shows its
title and score, never its message or its pictures. ``hidden=True`` shows everything.
"""

from __future__ import annotations

import base64
import binascii
import struct
from html import escape
from typing import Any

from grader.reports.leaderboard import entries as leaderboard_entries
from grader.reports.leaderboard import format_value

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

STYLE = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:80rem;
padding:0 1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
h3{font-size:1rem;margin:1.2rem 0 .4rem}h4{font-size:.95rem;margin:1rem 0 .3rem}
.meta{color:#59636e}.score{font-size:1.3rem;font-weight:600}
table{border-collapse:collapse;margin:.4rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;
text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f6f8fa}
tr.passed td.result{color:#1a7f37;font-weight:600}tr.failed td.result{color:#cf222e;font-weight:600}
tr.mismatch td{background:#ffebe9}tr.mismatch td:first-child{border-left:4px solid #cf222e}
table.feedback td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:normal}
table.feedback th{white-space:nowrap}
th.group{text-align:center}.wide{max-width:100%;overflow-x:auto}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:.85rem}
section.check{margin:1rem 0 1.6rem;padding:.2rem 0 .2rem 1rem;border-left:4px solid #d0d7de}
section.check.failed{border-left-color:#cf222e}section.check.passed{border-left-color:#1a7f37}
section.check>h3{margin-top:.2rem}
.message{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem .8rem;margin:.4rem 0}
.problem{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .8rem;margin:.4rem 0}
.status{background:#ffebe9;border:1px solid #cf222e;padding:.5rem .8rem;margin:.4rem 0}
figure{margin:.4rem 0 1rem}figcaption{color:#59636e;font-size:.9rem}img{max-width:100%;height:auto}
.pending{color:#9a6700}blockquote{margin:.3rem 0;padding-left:.8rem;border-left:3px solid #d0d7de;color:#59636e}
"""


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG from its IHDR chunk, or None when ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _decode_png(payload: Any) -> tuple[str, tuple[int, int]] | None:
    """The payload re-encoded as clean base64 with its size, or None when it is no PNG."""
    if not isinstance(payload, str):
        return None
    try:
        data = base64.b64decode(payload.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    size = png_size(data)
    if size is None:
        return None
    return base64.b64encode(data).decode("ascii"), size


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _pre(text: str) -> str:
    return f"<pre>{_e(text)}</pre>" if text else ""


def _item_html(item: dict[str, Any]) -> str:
    kind = item.get("kind")
    title = _e(item.get("title", ""))
    if kind == "png":
        decoded = _decode_png(item.get("png"))
        if decoded is None:
            return f'<p class="problem">{title}: the picture could not be shown (not a PNG).</p>'
        data, (width, height) = decoded
        return (f'<figure><img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
                f'alt="{title}"><figcaption>{title}</figcaption></figure>')
    if kind == "table":
        highlight = {int(i) for i in item.get("highlight", []) if isinstance(i, (int, float))}
        head = "".join(f"<th>{_e(h)}</th>" for h in item.get("header", []))
        groups = ""
        if item.get("groups"):
            cells = []
            for group in item["groups"]:
                try:
                    label, span = str(group[0]), max(1, min(int(group[1]), 100))
                except (TypeError, ValueError, IndexError):
                    continue
                cells.append(f'<th class="group" colspan="{span}">{_e(label)}</th>')
            groups = f"<tr>{''.join(cells)}</tr>"
        body = []
        for i, row in enumerate(item.get("rows", [])):
            cls = ' class="mismatch"' if i in highlight else ""
            body.append(f"<tr{cls}>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
        notes = [str(item["note"])] if item.get("note") else []
        if highlight:
            notes.append(f"{len(highlight)} highlighted row(s) differ")
        return (f"<h4>{title}</h4><div class=\"wide\"><table class=\"feedback\"><thead>{groups}<tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table></div><p class=\"meta\">{_e('; '.join(notes))}</p>")
    if kind == "text":
        return f"<h4>{title}</h4>{_pre(str(item.get('text', '')))}"
    return ""


def _points(value: Any) -> str:
    p = float(value)
    return f"{p:g} point" + ("" if p == 1 else "s")


def load_error_text(error: Any) -> str:
    """One line for an error raised while the submission's cells were run."""
    if not isinstance(error, dict):
        return str(error)
    head = f"{error.get('label', 'your code')}: {error.get('type', 'Error')}: {error.get('message', '')}"
    return head + (f" ({error['where']})" if error.get("where") else "")


def render(result: Any, hidden: bool = False) -> str:
    """The HTML page of ``result`` (a :class:`grader.engine.grading.SubmissionResult`).

    ``hidden=False`` (the student's copy) leaves out the messages and pictures of hidden
    checks; ``hidden=True`` is the instructor's copy.
    """
    tests = list(result.tests.values())
    shown_tests = {t.name for t in tests if hidden or not t.hidden}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Feedback: {_e(result.submission)} ({_e(result.assignment or '?')})</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Feedback for {_e(result.submission)}</h1>",
        f'<p class="meta">assignment {_e(result.assignment or "?")} · graded on {_e(result.device)} in '
        f"{float(result.execution_time):.1f} s · status {_e(result.status)}</p>",
        f'<p class="score">Score: {float(result.score):g} / {float(result.max_score):g}</p>',
    ]
    if result.pending_points:
        parts.append(f'<p class="pending">+ {_points(result.pending_points)} of explanation '
                     "questions, graded by your instructor (pending).</p>")
    if result.message:
        parts.append(f'<div class="status">{_pre(result.message)}</div>')
    for problem in result.problems:
        parts.append(f'<div class="problem">{_pre(problem)}</div>')
    for error in result.load_errors or []:
        parts.append(f'<div class="problem">{_pre(load_error_text(error))}</div>')

    board = leaderboard_entries(result)
    if board:  # public on the course leaderboard (results.json), whichever check recorded it
        rows = "".join(f"<tr><td>{_e(e['name'])}</td><td>{_e(format_value(e['value']))}</td>"
                       f"<td>{'higher' if e['order'] == 'desc' else 'lower'} is better</td></tr>" for e in board)
        parts.append('<h2>Leaderboard entry</h2><table class="checks"><thead><tr><th>quantity</th><th>value</th>'
                     f"<th>ranking</th></tr></thead><tbody>{rows}</tbody></table>")

    # failing checks first, then passed ones; each keeps the suite's order within its group
    ordered = [t for t in tests if t.status != "passed"] + [t for t in tests if t.status == "passed"]
    anchors = {t.name: f"check-{i}" for i, t in enumerate(ordered)}
    items_of: dict[str, list[dict[str, Any]]] = {}
    for item in result.feedback or []:
        if isinstance(item, dict) and item.get("test") in shown_tests:
            items_of.setdefault(item["test"], []).append(item)

    parts.append("<h2>Checks</h2>")
    if tests:
        rows = []
        for t in ordered:
            passed = t.status == "passed"
            has_section = not passed or t.name in items_of
            title = _e(t.title) + (" <span class=meta>(hidden)</span>" if t.hidden else "")
            link = f'<a href="#{anchors[t.name]}">{title}</a>' if has_section else title
            rows.append(f'<tr class="{"passed" if passed else "failed"}"><td>{link}</td>'
                        f"<td>{float(t.score):g} / {float(t.max_score):g}</td>"
                        f'<td class="result">{"passed" if passed else "failed"}</td></tr>')
        parts.append('<table class="checks"><thead><tr><th>check</th><th>points</th><th>result</th>'
                     f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    else:
        parts.append("<p>No check was run.</p>")

    failed = [t for t in ordered if t.status != "passed"]
    passed_with_items = [t for t in ordered if t.status == "passed" and t.name in items_of]
    for heading, group in (("Failed checks", failed), ("Passed checks: details", passed_with_items)):
        if not group:
            continue
        parts.append(f"<h2>{heading}</h2>")
        for t in group:
            cls = "passed" if t.status == "passed" else "failed"
            parts.append(f'<section class="check {cls}" id="{anchors[t.name]}">'
                         f"<h3>{_e(t.title)} · {float(t.score):g} / {float(t.max_score):g}</h3>")
            if t.name not in shown_tests:
                parts.append('<p class="meta">hidden check: details are not shown</p>')
            elif t.status != "passed" and t.output:
                parts.append(f'<div class="message">{_pre(t.output)}</div>')
            parts.extend(_item_html(item) for item in items_of.get(t.name, []))
            parts.append("</section>")

    if result.manual:
        parts.append("<h2>Explanation questions (graded by your instructor)</h2>")
        for q in result.manual:
            parts.append(f"<h3>{_e(q.get('name', ''))} · {_points(q.get('points', 0))}, pending</h3>")
            if q.get("prompt"):
                parts.append(f"<blockquote>{_e(q['prompt'])}</blockquote>")
            parts.append(_pre(q["answer"]) if q.get("answer") else "<p><em>No answer was found.</em></p>")
    parts.append("</body></html>")
    page = "\n".join(parts) + "\n"
    return page.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate from a student string becomes '?'
