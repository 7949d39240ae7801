"""Auto-grader for TensorFlow/Keras notebooks.

In a student's notebook::

    import grader
    grader.check("accuracy")   # the public checks of one graded name, as a table
    grader.check_all()         # every public check of the assignment

Importing ``grader`` stays cheap (no TensorFlow, no pytest): everything is imported when
a check runs, once per kernel: the first check starts a warm check process (TensorFlow
imported once, ended with the kernel) that later checks reuse. See :mod:`grader.student.check`.
"""

from __future__ import annotations

from typing import Any


def check(target: str, assignment: str | None = None, notebook: str | None = None, **kwargs: Any) -> Any:
    """Run the public checks whose target is ``target`` on the code this notebook ran.

    Shows a table (HTML in Jupyter, text elsewhere) and returns a ``CheckReport``
    (``.passed``, ``.score``, ``.max_score``, ``.failing``). Hidden checks never run here.
    ``assignment`` overrides the notebook's metadata; ``notebook="file.ipynb"`` checks a
    saved file instead of the kernel's code; ``cache=False`` measures afresh instead of
    reusing the grader's own training of an identical model (:mod:`grader.engine.cache`).
    """
    from grader.student.check import run_checks

    return run_checks(target, assignment=assignment, notebook=notebook, **kwargs)


def check_all(assignment: str | None = None, notebook: str | None = None, **kwargs: Any) -> Any:
    """Run every public check of the assignment; see :func:`check`."""
    from grader.student.check import run_checks

    return run_checks(None, assignment=assignment, notebook=notebook, **kwargs)


__all__ = ["check", "check_all"]
