"""Which assignment a submission is for: the one definition used by ``grade_file``, the
batch, ``grader submit`` and ``grader.check``.

A submission says it in two ways, both written by students' tools and so only *hints*:
the notebook metadata ``grader.assignment`` (set by ``grader release``) and an assignment
name inside its file name. For one file (:func:`infer_assignment`) the metadata comes
first, then a single name found in the file name.

A batch grades **one** assignment (:func:`batch_assignment`): ``--assignment``, else the
one every file agrees on; files that disagree, or say nothing, stop the batch before
anything is graded. A file whose metadata names another assignment than the batch's is not
graded against the batch's suite (:func:`released_for_another`): its row is an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from grader.config import ConfigError, Course

if TYPE_CHECKING:
    from grader.source.notebook import SubmissionFile


class AssignmentUnclear(ConfigError):
    """The files of a batch do not agree on one assignment; str() lists the candidates."""


def declared_assignment(sub: SubmissionFile | None) -> str | None:
    """The assignment the notebook's metadata names (``grader release`` writes it), known or not."""
    return sub.assignment if sub is not None else None


def assignment_in_name(file_name: str, names: Iterable[str]) -> str | None:
    """The one assignment name contained (case-insensitively) in ``file_name``, else None."""
    stem = file_name.lower()
    hits = [name for name in names if name.lower() in stem]
    return hits[0] if len(hits) == 1 else None


def infer_assignment(sub: SubmissionFile | None, path: Path, course: Course) -> str | None:
    """Metadata written by ``grader release`` first, then an assignment name in the file name."""
    declared = declared_assignment(sub)
    if declared is not None and declared in course.assignments:
        return declared
    return assignment_in_name(Path(path).name, course.assignments)


def batch_assignment(files: Iterable[tuple[Path, str | None]], course: Course) -> str:
    """The batch's one assignment from ``(file, what infer_assignment found for it)`` pairs.

    Every file must name the same assignment; otherwise :class:`AssignmentUnclear` lists
    the candidates (and the files that name none) and asks for ``--assignment``.
    """
    pairs = list(files)
    found = Counter(name for _, name in pairs if name is not None)
    silent = [Path(p).name for p, name in pairs if name is None]
    if len(found) == 1 and not silent:
        return next(iter(found))
    parts = [f"{n} file(s) name {name}" for name, n in sorted(found.items())]
    if silent:
        shown = ", ".join(silent[:5]) + (f" and {len(silent) - 5} more" if len(silent) > 5 else "")
        parts.append(f"{len(silent)} name none ({shown})")
    known = ", ".join(sorted(course.assignments)) or "none"
    head = ("these files do not agree on one assignment: " + "; ".join(parts)) if found else (
        "cannot tell which assignment these files are for: " + "; ".join(parts))
    raise AssignmentUnclear(f"{head}. A batch grades one assignment: pass --assignment NAME (known: {known})")


def released_for_another(declared: str | None, assignment: str) -> str | None:
    """The error message when the metadata's ``declared`` assignment is not ``assignment``
    (None: the file names none, and so is graded as the batch's)."""
    if declared is None or declared == assignment:
        return None
    return (f"this notebook was released for {declared}, this batch grades {assignment}: it was not graded "
            f"(was the wrong notebook submitted? grade it in a batch of {declared})")
