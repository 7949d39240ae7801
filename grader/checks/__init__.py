"""The suite author's front door: every helper a check needs, from one import.

    from grader.checks import CheckFailed, expect_close, compare_layers, spec

As pytest's ``pytest/__init__.py`` does for ``_pytest``, this module only re-exports; the
code lives in :mod:`grader.checks.expect` (``expect*``: expected, found, likely mistake),
:mod:`grader.checks.models` (Keras models layer by layer, compile settings, the trusted
side's cached training) and :mod:`grader.checks.feedback` (pictures and tables, the
``feedback`` fixture's type). Suites import from here; the submodules may move.

This room sits low in the import layers (docs/ARCHITECTURE.md): it imports numpy (Keras
lazily, inside the functions that rebuild or train) and nothing of the engine.
"""

from grader.checks.expect import (
    CheckFailed,
    Mistake,
    call_each,
    diagnose,
    expect,
    expect_array,
    expect_close,
    expect_equal,
    expect_number,
    expect_shape,
    raise_if_failed,
    show,
)
from grader.checks.feedback import Feedback
from grader.checks.models import (
    CompileSummary,
    LayerReport,
    LayerRow,
    LayerSpec,
    MetricInfo,
    cached_training,
    canonical_names,
    check_compile,
    check_layers,
    compare_layers,
    compile_problems,
    data_digest,
    describe_layers,
    format_rows,
    snake_case,
    spec,
    summarize_compile,
    summary_text,
    training_fields,
)

__all__ = [
    "CheckFailed", "CompileSummary", "Feedback", "LayerReport", "LayerRow", "LayerSpec",
    "MetricInfo", "Mistake", "cached_training", "call_each", "canonical_names", "check_compile",
    "check_layers", "compare_layers", "compile_problems", "data_digest", "describe_layers", "diagnose", "expect",
    "expect_array", "expect_close", "expect_equal", "expect_number", "expect_shape", "raise_if_failed",
    "format_rows", "show", "snake_case", "spec", "summarize_compile", "summary_text",
    "training_fields",
]
