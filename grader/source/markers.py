"""The markers a notebook carries, each defined once.

* a graded code cell: the cell tag ``graded`` or a first line ``# GRADED: <label>``;
* an explanation answer: a markdown cell whose first line is ``<!-- ANSWER: <question> -->``
  (it survives a lost tag and is invisible when the notebook is rendered), with
  :data:`PROMPT` as the text a student replaces;
* in a master notebook, ``# BEGIN SOLUTION`` / ``# END SOLUTION`` blocks and
  ``x = ...  # SOLUTION`` lines, which ``grader release`` replaces.

Used by extraction, ``grader.check``'s reading of a kernel's history, manual answers and
release alike.
"""

from __future__ import annotations

import re

GRADED_TAG = "graded"
GRADED_LINE = re.compile(r"^#\s*GRADED\b\s*:?\s*(?P<label>.*)$", re.IGNORECASE)

ANSWER_MARK = re.compile(r"^\s*<!--\s*ANSWER:\s*(?P<name>[\w.-]+)\s*-->\s*$", re.IGNORECASE)
PROMPT = "*Write your answer here.*"

BEGIN_SOLUTION = re.compile(r"^(?P<indent>\s*)#\s*BEGIN SOLUTION(?P<noprompt>\s+NO PROMPT)?\s*$")
END_SOLUTION = re.compile(r"^\s*#\s*END SOLUTION\s*$")
INLINE_SOLUTION = re.compile(r"^(?P<lhs>\s*[^#=]+?=)\s*.+?#\s*SOLUTION\s*$")


def graded_label(first_line: str) -> str | None:
    """The label of a ``# GRADED: label`` first line ('' for a bare ``# GRADED``), else None."""
    match = GRADED_LINE.match(first_line)
    return match.group("label").strip() if match else None


def answer_name(first_line: str) -> str | None:
    """The question of an ``<!-- ANSWER: name -->`` first line, else None."""
    match = ANSWER_MARK.match(first_line)
    return match.group("name") if match else None
