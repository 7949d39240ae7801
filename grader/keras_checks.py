"""Kept for suites written before the layout of 0.2: ``grader.keras_checks`` is now
:mod:`grader.checks.models`, and every public name is importable from :mod:`grader.checks`.
This shim stays for one release (docs/API.md)."""

from grader.checks.models import *  # noqa: F403
from grader.checks.models import __all__  # noqa: F401
