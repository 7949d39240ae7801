"""Writing results: Gradescope JSON, JUnit XML, a readable summary, the CSV gradebook.

Every file is written atomically (a temporary file in the same folder, fsync, then
``os.replace``), so a killed batch leaves either the old file or the new one, never half
of one. A submission's ``results.json`` is written last: its presence means "graded",
which is what ``grader grade`` checks to resume a batch.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from grader.files import atomic_write
from grader.model import GRADER_ERROR, SubmissionResult, TestResult
from grader.reports.leaderboard import entries as leaderboard_entries
from grader.reports.protections import summary_line

RESULTS = "results.json"
FULL = "result.full.json"  # everything, for the instructor and for resuming


def gradescope(result: SubmissionResult) -> dict:
    """Gradescope's results.json: score, execution_time, output, tests[], extra_data, and
    ``leaderboard`` when the suite recorded an entry (:mod:`grader.reports.leaderboard`).

    ``extra_data`` is, in Gradescope's specification, "optional extra data to be stored"
    with the result: here status, assignment, device, max_score, pending manual points and
    the worker's sandbox report.

    Visibility: each test carries its own (``visible``, or ``after_published`` for a hidden
    check); the top-level ``output`` is ``visible`` and so holds only what is visible now
    (:func:`visible_output`): no hidden check's title, result or points. A test's
    ``status`` is ``passed`` or ``failed`` (the only values Gradescope knows): a check the
    grader itself could not run is ``failed`` with a neutral message; its detail stays in
    result.full.json, and ``extra_data.status`` is ``grader-error``.
    """
    tests = [
        {
            "name": t.title if t.title != t.name else t.name,
            "score": t.score,
            "max_score": t.max_score,
            "status": "passed" if t.status == "passed" else "failed",
            "output": t.output,
            "visibility": "after_published" if t.hidden else "visible",
        }
        for t in result.tests.values()
    ]
    for q in result.manual:
        tests.append({
            "name": f"{q['name']} (explanation, graded by your instructor)",
            "score": 0.0,
            "max_score": q["points"],
            "output": "Pending manual review." + ("" if q["answer"] else " No answer was found."),
            "visibility": "visible",
        })
    output = visible_output(result)
    data = {
        "score": result.score,
        "execution_time": result.execution_time,
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "status": result.status,
            "assignment": result.assignment,
            "device": result.device,
            "max_score": result.max_score,
            "pending_manual_points": result.pending_points,
            # how the worker ran this submission: "started" (forked from the warm runner or
            # a fresh interpreter) and the protections in force (network, hidden folders,
            # read-only paths, uid, cores, rlimits), as the worker reported them
            "sandbox": result.sandbox or {"started": "no report: the worker was not started, or was "
                                                     "lost before it confined itself"},
        },
    }
    # Gradescope's leaderboard: "your autograder must export a top-level "leaderboard" section
    # in the results.json output ... an array, with objects defining the different quantities"
    # ({"name", "value", "order"}; order "desc" by default, "asc" for e.g. time), from
    # https://gradescope-autograders.readthedocs.io/en/latest/leaderboards/; only when the
    # suite recorded an entry (feedback.leaderboard), so other assignments' files are unchanged
    board = leaderboard_entries(result)
    if board:
        data["leaderboard"] = board
    return data


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without ANSI colour codes and the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("\ufffd", _ANSI.sub("", str(text)))


def junit_xml(result: SubmissionResult) -> str:
    """JUnit XML: testsuites > testsuite > testcase (> failure | error); counts match the elements.

    A check that failed is a ``<failure>``; a check the grader itself could not run
    (``grader-error``) is an ``<error type="grader-error">`` with the detail, as is a row
    whose status is not ``ok`` (one extra test case, "submission status")."""
    failures = sum(1 for t in result.tests.values() if t.status not in ("passed", GRADER_ERROR))
    check_errors = sum(1 for t in result.tests.values() if t.status == GRADER_ERROR)
    row_error = 0 if result.status == "ok" else 1
    errors = check_errors + row_error
    classname = xml_text(f"{result.assignment}.{result.submission}")
    attrs = {"tests": str(len(result.tests) + row_error), "failures": str(failures), "errors": str(errors),
             "time": f"{result.execution_time:.3f}"}
    root = ET.Element("testsuites", dict(attrs))
    suite = ET.SubElement(root, "testsuite", {"name": xml_text(f"{result.assignment}:{result.submission}"), **attrs})
    for t in result.tests.values():
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": xml_text(t.name), "time": f"{t.seconds:.3f}"})
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", {"name": "points", "value": f"{t.max_score:g}"})
        ET.SubElement(props, "property", {"name": "score", "value": f"{t.score:g}"})
        if t.status == GRADER_ERROR:
            error = ET.SubElement(case, "error", {"message": xml_text(t.detail.split("\n", 1)[0][:500]),
                                                  "type": GRADER_ERROR})
            error.text = xml_text(t.detail)
        elif t.status != "passed":
            failure = ET.SubElement(case, "failure", {"message": xml_text(t.output[:500])})
            failure.text = xml_text(t.output)
    if row_error:
        text = "\n".join([f"{result.status}: {result.message}", *result.grader_errors])
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": "submission status", "time": "0.000"})
        error = ET.SubElement(case, "error", {"message": xml_text(f"{result.status}: {result.message}"[:500]), "type": result.status})
        error.text = xml_text(text)
        out = ET.SubElement(suite, "system-err")
        out.text = xml_text(text)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def public_checks_line(score: float, max_score: float, hidden_checks: int | None, questions: bool) -> str:
    """What a public-only score counts, and what is graded after submission.

    The one rendering of this line, shared by ``grader check`` (:func:`summary` with
    ``public_only``) and ``grader.check`` in a notebook. ``max_score`` is the points of the
    public checks that ran; ``hidden_checks`` the number of hidden checks of the
    assignment (None: unknown, e.g. a student's copy whose suite cannot be read);
    ``questions`` whether it has explanation questions.
    """
    later = {0: [], None: ["hidden checks (if any)"]}.get(hidden_checks, ["hidden checks"])
    if questions:
        later.append("explanation questions")
    line = f"public checks: {score:g} of {max_score:g} point{'' if max_score == 1 else 's'}"
    if later:
        return f"{line}; {' and '.join(later)} are graded after submission"
    return f"{line}; this assignment has no hidden checks or explanation questions"


def summary(result: SubmissionResult, hidden: bool = True, public_only: bool = False,
            hidden_checks: int | None = None) -> str:
    """A plain-text report; ``hidden=False`` leaves out the messages of hidden checks.

    ``public_only``: the result of a run of the public checks only (``grader check``); its
    score is then shown as what it is, with what the final grade adds (``hidden_checks``:
    how many hidden checks the assignment has, None when unknown).
    """
    if public_only and result.assignment:
        lines = [f"{result.submission}: {result.assignment or '?'}  status {result.status}  device {result.device}",
                 "  " + public_checks_line(result.score, result.max_score, hidden_checks, bool(result.manual))]
    else:
        lines = [f"{result.submission}: {result.assignment or '?'}  "
                 f"score {result.score:g}/{result.max_score:g}  status {result.status}  device {result.device}"]
        if result.pending_points:
            lines.append(f"  + {result.pending_points:g} points of explanation questions pending manual review")
    lines += _notes(result)
    for t in result.tests.values():
        mark = {"passed": "PASS", GRADER_ERROR: "ERROR"}.get(t.status, "FAIL")
        lines += check_lines(t, mark, "  (hidden)" if t.hidden else "", hidden or not t.hidden)
    if hidden and result.sandbox:  # the instructor's copy: what the confinement enforced
        lines.append(f"  {summary_line(result.sandbox)}")
    if hidden and result.grader_errors:  # the instructor's copy: what the grader failed on, in full
        lines.append("  grader errors (not the student's fault; `grader grade` on the same folder regrades this row):")
        for detail in result.grader_errors:
            lines += [f"    {line}" for line in detail.splitlines()[:40]]
    return "\n".join(lines) + "\n"


def visible_output(result: SubmissionResult) -> str:
    """results.json's top-level ``output`` (visible now): the row's status and messages and
    the visible checks only; hidden checks are counted, never named or scored, here; each
    appears in its own test, with its own visibility."""
    shown = [t for t in result.tests.values() if not t.hidden]
    hidden = [t for t in result.tests.values() if t.hidden]
    score, max_score = sum(t.score for t in shown), sum(t.max_score for t in shown)
    lines = [f"{result.submission}: {result.assignment or '?'}  visible checks {score:g}/{max_score:g}  "
             f"status {result.status}  device {result.device}"]
    if hidden:
        points = sum(t.max_score for t in hidden)
        lines.append(f"  {len(hidden)} hidden check{'' if len(hidden) == 1 else 's'} ({points:g} point"
                     f"{'' if points == 1 else 's'}) shown once grades are published")
    if result.pending_points:
        lines.append(f"  + {result.pending_points:g} points of explanation questions pending manual review")
    lines += _notes(result)
    for t in shown:
        lines += check_lines(t, "PASS" if t.status == "passed" else "FAIL", "", True)
    return "\n".join(lines) + "\n"


def _notes(result: SubmissionResult) -> list[str]:
    """The row's own message and problems, one ``!`` line each (summary and visible output)."""
    return [f"  ! {text}" for text in ([result.message] if result.message else []) + list(result.problems)]


def check_lines(t: TestResult, mark: str, suffix: str, with_output: bool) -> list[str]:
    """One check: its mark, points and title, then the first 12 lines of a failure's message
    (the summary, results.json's visible output and ``grader.check``'s text table)."""
    lines = [f"  [{mark}] {t.score:g}/{t.max_score:g}  {t.title}{suffix}"]
    if t.status != "passed" and t.output and with_output:
        lines += [f"         {line}" for line in t.output.splitlines()[:12]]
    return lines


def write_submission(result: SubmissionResult, folder: Path) -> None:
    """All per-submission files; results.json last (its presence marks the submission done)."""
    from grader.reports.html import render as feedback_html
    from grader.reports.review import write_answers

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "junit.xml", junit_xml(result))
    atomic_write(folder / "summary.txt", summary(result))
    atomic_write(folder / "feedback.html", feedback_html(result))  # the student's copy: no hidden messages
    if result.manual:
        write_answers(result.manual, result.submission, folder / "manual_answers.md")
    if result.worker_output:
        atomic_write(folder / "worker_output.txt", result.worker_output)
    atomic_write(folder / FULL, json.dumps(result.to_dict(), indent=2, default=str))
    atomic_write(folder / RESULTS, json.dumps(gradescope(result), indent=2, default=str))


def load_full(folder: Path) -> SubmissionResult | None:
    """The result saved in ``folder``, or None when it is absent or unreadable."""
    try:
        if not (folder / RESULTS).is_file():
            return None
        return SubmissionResult.from_dict(json.loads((folder / FULL).read_text("utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None
