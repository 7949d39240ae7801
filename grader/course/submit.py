"""``grader submit NOTEBOOK``: check a notebook and package it for upload.

Before packaging, the notebook is validated the way the grader will see it:

1. it can be read (valid JSON notebook or .py, not empty, not too large);
2. the assignment is known (notebook metadata or file name, or ``--assignment``);
3. every graded name of the assignment is defined (the same selection of code the grader
   makes: :func:`grader.source.extract.build_program`), and no graded cell has a syntax error;
4. the public checks run (sandboxed, like ``grader check``) and their score is shown;
5. the explanation questions have answers.

Then ``<out>/<assignment>-submission.zip`` is written (atomically) holding the notebook
unchanged and ``manifest.json`` (assignment, file name, size, sha256, time, what the
checks found), ready to upload. Problems in 3-5 are warnings: partial work can be
submitted; an unreadable file or an unknown assignment writes nothing.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.config import Course


@dataclass
class SubmitReport:
    ok: bool  # a zip was written
    zip_path: Path | None = None
    assignment: str | None = None
    warnings: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def submit(notebook: Path | str, course: Course, out: Path | str = ".", assignment: str | None = None,
           log: Callable[[str], None] = print, run_checks: bool = True) -> SubmitReport:
    from grader.source.answers import collect_answers
    from grader.source.assignment import infer_assignment
    from grader.source.extract import build_program
    from grader.source.notebook import SubmissionUnreadable, read_submission

    path = Path(notebook)
    try:
        sub = read_submission(path)
    except SubmissionUnreadable as exc:
        log(f"NOT PACKAGED: {exc}")
        return SubmitReport(False, warnings=[str(exc)])
    data = path.read_bytes()
    kind = "notebook" if path.suffix == ".ipynb" else "Python file"
    code_cells = sum(1 for c in sub.cells if c.kind == "code")
    log(f"read {path.name}: {kind}, {len(sub.cells)} cells ({code_cells} code), {len(data):,} bytes")
    for w in sub.warnings:
        log(f"  warning: {w}")
    name = assignment or infer_assignment(sub, path.resolve(), course)
    if name is None:
        known = ", ".join(sorted(course.assignments))
        message = (f"cannot tell which assignment {path.name} is for (its metadata names none, its file "
                   f"name contains none of: {known}); pass --assignment NAME")
        log(f"NOT PACKAGED: {message}")
        return SubmitReport(False, warnings=[message])
    spec = course.assignment(name)
    log(f"assignment: {name} ({spec.title})")
    warnings = list(sub.warnings)

    program = build_program(sub, spec.graded, spec.aliases)
    present = [n for n in spec.graded if n in program.defined]
    missing = [n for n in spec.graded if n not in program.defined]
    log(f"graded names: {len(present)} of {len(spec.graded)} defined"
        + (f" ({', '.join(present)})" if present else ""))
    for problem in program.problems:
        log(f"  warning: {problem}")
        warnings.append(problem)

    checks: dict = {}
    if run_checks:
        from grader.engine.grading import grade_file
        from grader.reports.html import load_error_text

        result = grade_file(path, assignment=name, course=course, device="cpu", public_only=True)
        failing = [t for t in result.tests.values() if t.status != "passed"]
        log(f"public checks: {result.score:g}/{result.max_score:g} points, "
            f"{len(result.tests) - len(failing)} of {len(result.tests)} passed ({result.execution_time:.1f} s)")
        if result.status != "ok":
            warnings.append(f"status {result.status}: {result.message}")
            log(f"  warning: {result.status}: {result.message}")
        for error in result.load_errors:
            warnings.append(load_error_text(error))
            log(f"  warning: {load_error_text(error)}")
        for t in failing:
            first = (t.output.splitlines() or [""])[0]
            log(f"  FAIL {t.title}: {first}")
        checks = {"status": result.status, "score": result.score, "max_score": result.max_score,
                  "failing": [t.title for t in failing]}
        if failing:
            warnings.append(f"{len(failing)} public check(s) fail")

    answers = collect_answers(sub, spec.manual)
    unanswered = [q["name"] for q in answers if not q["answer"]]
    if answers:
        log(f"explanation answers: {len(answers) - len(unanswered)} of {len(answers)} written"
            + (f" (missing: {', '.join(unanswered)})" if unanswered else ""))
        if unanswered:
            warnings.append(f"unanswered explanation question(s): {', '.join(unanswered)}")

    manifest = {
        "assignment": name,
        "file": path.name,
        "bytes": len(data),
        "sha256": sha256(data),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "graded_names": {"present": present, "missing": missing},
        "public_checks": checks,
        "unanswered": unanswered,
        "warnings": warnings,
    }
    zip_path = Path(out) / f"{name}-submission.zip"
    write_zip(zip_path, {path.name: data, "manifest.json": json.dumps(manifest, indent=2).encode("utf-8")})
    log(f"wrote {zip_path} ({zip_path.stat().st_size:,} bytes): {path.name} + manifest.json "
        f"(sha256 {manifest['sha256'][:12]}…)")
    if warnings:
        log(f"{len(warnings)} warning(s) above: fix them and run `grader submit` again, or upload as is.")
    else:
        log("no problem found: upload this file.")
    return SubmitReport(True, zip_path, name, warnings, manifest)


def write_zip(path: Path, files: dict[str, bytes]) -> None:
    """A zip with fixed timestamps and order, written atomically."""
    from grader.files import atomic_write

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in files:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    atomic_write(path, buf.getvalue())


def verify_zip(path: Path | str) -> dict:
    """The manifest of a submission zip, after checking the notebook's sha256 against it."""
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        data = zf.read(manifest["file"])
    if sha256(data) != manifest["sha256"] or len(data) != manifest["bytes"]:
        raise ValueError(f"{path}: {manifest['file']} does not match its manifest (sha256 differs)")
    return manifest
