"""Checks a suite uses to judge observations: each failure is a message a student reads.

Modelled on Kaggle learntools' problem classes: a check is mostly data (what is being
checked, the expected value, a list of *likely mistakes* each with an explanation). A
mistake is named only when it is confirmed; otherwise the message says what differs and
where, without a guess:

- a :class:`Mistake` is a hypothesis written as a *function of the inputs* (what a
  submission that made it returns). :func:`diagnose` names it when, over the inputs of
  the check (``cases``), it reproduces the student's value on every one, no other
  hypothesis does (each is refuted by an input that separates it), and it differs from
  the right answer on at least two of them (seen once, confirmed on a second input);
- an old-style ``(value, explanation)`` pair, for a check with one input (a constant),
  is named when the found value equals that value and no other hypothesis with a
  different explanation has the same value.

All helpers run on the trusted side on plain data decoded from the worker, so a value can
only be a number, string, list, dict, ``None`` or a numpy array: no object of the
student's can take part in a comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Mistake:
    """A likely mistake as a hypothesis: ``fn(*inputs)`` is what a submission that made it
    returns on ``inputs`` (the arguments of the student's function, as a tuple)."""

    explanation: str
    fn: Callable[..., Any]


Mistakes = Iterable[tuple[Any, str] | Mistake]
Case = tuple[tuple, Any]  # (inputs, found): the arguments of one call and what it returned


class CheckFailed(AssertionError):
    """A check did not pass; ``str(exc)`` is shown to the student as it is."""


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition``."""
    if not condition:
        raise CheckFailed(message)


def show(value: Any, limit: int = 120) -> str:
    """A short, readable rendering of a value for messages."""
    if isinstance(value, np.ndarray):
        if value.size <= 12:
            text = np.array2string(value, precision=4, separator=", ")
        else:
            text = f"array of shape {value.shape}"
        return f"{text} (dtype {value.dtype})" if value.size <= 12 else f"{text}, dtype {value.dtype}"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_pair(expected: Any, found: Any) -> tuple[str, str]:
    """``show`` of two numbers, with as many digits as it takes for them to read differently
    (never "expected 105.396, found 105.396")."""
    a, b = show(expected), show(found)
    if a == b and _is_number(expected) and _is_number(found) and float(expected) != float(found):
        for digits in range(7, 18):
            a, b = f"{float(expected):.{digits}g}", f"{float(found):.{digits}g}"
            if a != b:
                break
    return a, b


# A result computed in single (or half) precision, where the task says "floats", is right
# when it is as close as that precision allows: each operation rounds to about eps, and a
# sum of k terms to about k * eps of its largest term.
_LOW_PRECISION_STEPS = 64


def _precision_floor(found: Any, expected: Any) -> tuple[float, float]:
    """(rtol, atol) floors for ``found`` when it was computed in float32 or float16."""
    dtype = None
    if isinstance(found, np.ndarray) and found.dtype.kind == "f" and found.dtype.itemsize < 8:
        dtype = found.dtype
    elif isinstance(found, np.floating) and np.asarray(found).dtype.itemsize < 8:
        dtype = np.asarray(found).dtype
    elif isinstance(found, float) and math.isfinite(found) and float(np.float32(found)) == found:
        # plain floats reach the trusted side as float64: one that is exactly a float32 (a
        # random float64 is, with a chance of about 2**-29) was computed in float32 when the
        # expected value is not one
        if _is_number(expected) and float(np.float32(float(expected))) != float(expected):
            dtype = np.dtype(np.float32)
    if dtype is None:
        return 0.0, 0.0
    eps = float(np.finfo(dtype).eps) * _LOW_PRECISION_STEPS
    scale = float(np.max(np.abs(np.asarray(expected, dtype=np.float64)))) if np.size(expected) else 0.0
    return eps, eps * max(scale, 1.0)


def _same(found: Any, wrong: Any, rtol: float, atol: float) -> bool:
    if isinstance(wrong, np.ndarray) or isinstance(found, np.ndarray):
        try:
            a, b = np.asarray(found), np.asarray(wrong)
        except Exception:  # noqa: BLE001 - anything odd is simply "not this mistake"
            return False
        if a.shape != b.shape or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
            return False
        return bool(np.allclose(a, b, rtol=rtol, atol=atol))
    if _is_number(found) and _is_number(wrong):
        return math.isclose(float(found), float(wrong), rel_tol=rtol, abs_tol=atol)
    return type(found) is type(wrong) and found == wrong


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


_NO_VALUE = object()  # what a hypothesis "returns" when it cannot be applied to an input


def _apply(fn: Callable[..., Any], inputs: tuple) -> Any:
    try:
        return fn(*inputs)
    except Exception:  # noqa: BLE001 - a hypothesis that does not apply to an input predicts nothing
        return _NO_VALUE


def _agree(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Two values that a check cannot tell apart (``_same`` with float32's floor)."""
    if a is _NO_VALUE or b is _NO_VALUE:
        return False
    floor_r, floor_a = _precision_floor(a, b) if _is_number(b) or isinstance(b, np.ndarray) else (0.0, 0.0)
    return _same(a, b, max(rtol, floor_r), max(atol, floor_a))


def diagnose(cases: Sequence[Case], mistakes: Iterable[Mistake], right: Callable[..., Any],
             rtol: float = 1e-6, atol: float = 1e-9) -> str | None:
    """The explanation of the one mistake confirmed by ``cases``, or ``None`` (no guess).

    ``cases`` are ``(inputs, found)`` pairs, one per call of the student's function in the
    check (a case whose found is an exception, a call that raised, is left out); ``right``
    is the reference, a function of the same inputs. A mistake is confirmed when:

    1. it reproduces ``found`` on every case (within ``rtol``/``atol``, or float32's floor);
    2. no other hypothesis (other explanation) does: each is refuted by a case where it
       gives another value than the student's, which separates the two;
    3. its value differs from the right answer on at least two cases: the mistake is seen
       on one input and confirmed on a second.

    Hypotheses with the same explanation (two ways to write one mistake) count as one.
    """
    cases = [(tuple(inputs), found) for inputs, found in cases if not isinstance(found, BaseException)]
    mistakes = list(mistakes)
    if len(cases) < 2 or not mistakes:
        return None
    rights = [_apply(right, inputs) for inputs, _ in cases]
    reproducing: dict[str, list[int]] = {}
    for m in mistakes:
        values = [_apply(m.fn, inputs) for inputs, _ in cases]
        if all(_agree(found, v, rtol, atol) for (_, found), v in zip(cases, values, strict=True)):
            visible = [k for k, v in enumerate(values) if not _agree(v, rights[k], rtol, atol)]
            if len(visible) >= len(reproducing.get(m.explanation, [])):
                reproducing[m.explanation] = visible
    if len(reproducing) != 1:
        return None
    ((explanation, visible),) = reproducing.items()
    return explanation if len(visible) >= 2 else None


def _explain(found: Any, mistakes: Mistakes, hint: str, rtol: float = 1e-6, atol: float = 1e-9,
             cases: Sequence[Case] | None = None, right: Callable[..., Any] | None = None) -> str:
    """" Likely mistake: ..." when one is confirmed (see the module's docstring), else ``hint``."""
    mistakes = list(mistakes)
    hypotheses = [m for m in mistakes if isinstance(m, Mistake)]
    if hypotheses:
        if right is None:
            raise ValueError("a Mistake (a function of the inputs) needs right=, the reference function")
        named = diagnose(cases or [], hypotheses, right, rtol, atol)
        if named is not None:
            return f" Likely mistake: {named}"
    matching = {explanation for wrong, explanation in (m for m in mistakes if not isinstance(m, Mistake))
                if _same(found, wrong, rtol, atol)}
    if len(matching) == 1:
        return f" Likely mistake: {matching.pop()}"
    return f" {hint}" if hint else ""


def call_each(submission: Any, name: str, inputs: Iterable[tuple]) -> list[Case]:
    """``submission.call(name, *args)`` on each input, in order: the ``(inputs, found)`` cases a
    check judges one by one and :func:`diagnose` reads together.

    The calls stop at the first that fails (the student's code raised, or returned what
    cannot be read): that case's found is the exception, which every ``expect*`` helper
    raises again when it is judged, in its turn; no input after it is called."""
    cases: list[Case] = []
    for args in inputs:
        args = tuple(args)
        try:
            cases.append((args, submission.call(name, *args)))
        except CheckFailed as exc:
            cases.append((args, exc))
            break
    return cases


def raise_if_failed(found: Any) -> None:
    """A case's found that is the failure of its call (see :func:`call_each`) is raised."""
    if isinstance(found, CheckFailed):
        raise found


def _wrong(what: str, expected: Any, found: Any, reveal: bool) -> str:
    if reveal:
        shown_expected, shown_found = show_pair(expected, found)
        return f"{what}: expected {shown_expected}, found {shown_found}."
    return f"{what}: {show(found)} is not right."


def expect_equal(found: Any, expected: Any, what: str, mistakes: Mistakes = (), hint: str = "",
                 reveal: bool = True, cases: Sequence[Case] | None = None,
                 right: Callable[..., Any] | None = None) -> None:
    """Exact equality of plain data (ints, strings, tuples, lists...).

    Integers compare equal to integral floats (``24 == 24.0``) but booleans never pass for
    numbers: ``True`` is not ``1`` for a parameter count. ``reveal=False`` leaves the
    expected value out of the message (a public check on a graded constant or count must
    not hand out the answer): the student reads what was found, the likely mistake or
    ``hint``.

    ``mistakes`` may hold :class:`Mistake` hypotheses, named only when confirmed on
    ``cases`` (every ``(inputs, found)`` of the check, this one included) against ``right``
    (:func:`diagnose`), and ``(value, explanation)`` pairs, named when the value is unique.
    """
    raise_if_failed(found)
    ok = _same(found, expected, 0.0, 0.0) if _is_number(expected) else _plain_equal(found, expected)
    if not ok:
        raise CheckFailed(_wrong(what, expected, found, reveal)
                          + _explain(found, mistakes, hint, 0.0, 0.0, cases, right))


def _plain_equal(found: Any, expected: Any) -> bool:
    if isinstance(expected, (list, tuple)) and isinstance(found, (list, tuple)):
        return len(found) == len(expected) and all(
            _plain_equal(f, e) for f, e in zip(found, expected, strict=True)
        )
    if _is_number(expected):
        return _is_number(found) and float(found) == float(expected)
    return type(found) is type(expected) and found == expected


def expect_number(found: Any, what: str) -> float:
    """``found`` must be a real number (not bool, str, None, an array of many values)."""
    raise_if_failed(found)
    if isinstance(found, np.ndarray) and found.shape == () and found.dtype.kind in "iuf":
        found = found.item()
    if not _is_number(found):
        raise CheckFailed(f"{what}: expected a number, found {show(found)} ({type(found).__name__}).")
    value = float(found)
    if math.isnan(value):
        raise CheckFailed(f"{what}: found NaN (not a number): check for a division by zero.")
    return value


def expect_close(
    found: Any,
    expected: float,
    what: str,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    mistakes: Mistakes = (),
    hint: str = "",
    reveal: bool = True,
    cases: Sequence[Case] | None = None,
    right: Callable[..., Any] | None = None,
) -> None:
    """A real number close to ``expected``; ``reveal=False`` as in :func:`expect_equal`.

    A value computed in float32 (or float16) passes when it is as close as that precision
    allows (about 64 roundings of its largest term), whatever ``rtol``/``atol`` ask.
    ``mistakes``, ``cases`` and ``right`` as in :func:`expect_equal`."""
    value = expect_number(found, what)
    floor_r, floor_a = _precision_floor(found if isinstance(found, np.floating) else value, expected)
    if not math.isclose(value, float(expected), rel_tol=max(rtol, floor_r), abs_tol=max(atol, floor_a)):
        raise CheckFailed(
            _wrong(what, float(expected), value, reveal)
            + _explain(value, mistakes, hint, max(rtol, 1e-9), max(atol, 1e-9), cases, right)
        )


def expect_array(
    found: Any,
    expected: np.ndarray,
    what: str,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    kind: str | None = None,
    mistakes: Mistakes = (),
    hint: str = "",
    cases: Sequence[Case] | None = None,
    right: Callable[..., Any] | None = None,
) -> np.ndarray:
    """A numpy array with ``expected``'s shape and values (within tolerance).

    ``kind`` restricts the dtype: ``"integer"`` (signed or unsigned), ``"floating"``,
    ``"uint8"`` or any numpy dtype name. Returns the array for further checks.
    ``mistakes``, ``cases`` and ``right`` as in :func:`expect_equal`.
    """
    raise_if_failed(found)
    expected = np.asarray(expected)
    if not isinstance(found, np.ndarray):
        if isinstance(found, (list, tuple)):
            raise CheckFailed(
                f"{what}: expected a numpy array of shape {expected.shape}, found a "
                f"{type(found).__name__}: convert it with np.array(...)."
            )
        raise CheckFailed(
            f"{what}: expected a numpy array of shape {expected.shape}, found {show(found)}."
        )
    if kind is not None and not _kind_ok(found.dtype, kind):
        raise CheckFailed(f"{what}: expected dtype {kind}, found {found.dtype}."
                          + _explain(found, mistakes, hint, rtol, atol, cases, right))
    if found.shape != expected.shape:
        raise CheckFailed(
            f"{what}: expected shape {expected.shape}, found {found.shape}."
            + _explain(found, mistakes, hint, rtol, atol, cases, right)
        )
    if found.dtype.kind not in "biuf":
        raise CheckFailed(f"{what}: expected numbers, found an array of dtype {found.dtype}.")
    floor_r, floor_a = _precision_floor(found, expected) if expected.dtype.kind == "f" else (0.0, 0.0)
    rtol, atol = max(rtol, floor_r), max(atol, floor_a)
    if not np.allclose(found.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol, equal_nan=False):
        diff = np.abs(found.astype(np.float64) - expected.astype(np.float64))
        where = np.unravel_index(int(np.nanargmax(np.where(np.isnan(diff), np.inf, diff))), diff.shape)
        shown_expected, shown_found = show_pair(float(expected[where]), float(found[where]))
        wrong = int(np.sum(~np.isclose(found.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol)))
        raise CheckFailed(
            f"{what}: values differ at {wrong} of {found.size} positions; e.g. at index "
            f"{tuple(int(i) for i in where)} expected {shown_expected}, found {shown_found}."
            + _explain(found, mistakes, hint, rtol, atol, cases, right)
        )
    return found


def _kind_ok(dtype: np.dtype, kind: str) -> bool:
    if kind == "integer":
        return dtype.kind in "iu"
    if kind == "floating":
        return dtype.kind == "f"
    return dtype == np.dtype(kind)


def expect_shape(found: Any, expected: Sequence[int], what: str, hint: str = "") -> None:
    """An array of the given shape (use ``None`` in ``expected`` for any size)."""
    raise_if_failed(found)
    if not isinstance(found, np.ndarray):
        raise CheckFailed(f"{what}: expected a numpy array, found {show(found)}.")
    ok = len(found.shape) == len(expected) and all(
        e is None or f == e for f, e in zip(found.shape, expected, strict=True)
    )
    if not ok:
        raise CheckFailed(f"{what}: expected shape {tuple(expected)}, found {found.shape}." + (f" {hint}" if hint else ""))
