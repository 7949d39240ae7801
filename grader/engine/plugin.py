"""The pytest plugin that turns a grading suite into scored checks.

Points and visibility are data on a test (``@pytest.mark.points(2)``,
``@pytest.mark.hidden``, ``@pytest.mark.target("accuracy")``), as pytest markers are
meant to be used. The plugin deselects what a run should not see (hidden tests in
``grader check``; other targets for ``grader.check("accuracy")``), provides the fixtures,
and records each test's outcome and the message a student reads.

Public checks run first, hidden ones after them (each group in the suite's order), and the
first hidden check gets a fresh worker: a public check's message can only quote what the
student's code saw in public checks. Each check's calls into the worker share a time
budget (``[limits] check_timeout``, or ``@pytest.mark.budget(seconds)`` on the check); a
check that runs out of it, or whose worker dies, fails with the reason, and the next check
gets a fresh worker (:class:`grader.engine.submission.Submission`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from grader.checks.expect import CheckFailed
from grader.checks.feedback import Feedback
from grader.engine import marks
from grader.engine.sandbox import WorkerLost
from grader.engine.submission import Submission


@dataclass
class TestOutcome:
    name: str  # test function name (with parameters)
    title: str  # first docstring line, or the name
    points: float
    hidden: bool
    target: str | None
    passed: bool = False
    message: str = ""
    seconds: float = 0.0
    crashed: str | None = None  # WorkerLost status when the worker died during this test
    # the grader's own fault (an exception of the suite's code, a missing dataset): the
    # full detail, for the instructor only; the student reads GRADER_ERROR_MESSAGE
    grader_error: str | None = None


# what a student reads for a check the grader itself could not run: no exception text, no path
GRADER_ERROR_MESSAGE = ("The grader could not run this check; this is not your mistake and your "
                        "instructor has been told.")


def is_grader_error(excinfo: pytest.ExceptionInfo) -> bool:
    """Whether a test's exception is the grader's fault rather than a verdict on the student's
    code: anything but a failed check (``CheckFailed``, which includes the student's code
    raising, ``SubmissionError``; a plain ``assert``; ``pytest.fail``) or a lost worker.
    A ``GraderError`` (a probe's own exception), a missing dataset or a bug in a check is."""
    exc = excinfo.value
    return not isinstance(exc, (WorkerLost, AssertionError, pytest.fail.Exception, pytest.skip.Exception))


def grader_error_detail(excinfo: pytest.ExceptionInfo) -> str:
    """The full story of a grader error, for the instructor: the exception and where in the
    suite (or the grader) it was raised."""
    try:
        where = str(excinfo.getrepr(style="short", chain=True))
    except Exception:  # noqa: BLE001 - the exception's own text is enough then
        where = ""
    head = f"{type(excinfo.value).__name__}: {excinfo.value}"
    return (head + ("\n" + where[-4000:] if where else "")).strip()


def student_message(excinfo: pytest.ExceptionInfo) -> tuple[str, str | None]:
    """The text a student reads for a failed test, and the worker status if it died."""
    exc = excinfo.value
    if isinstance(exc, WorkerLost):
        return f"Not graded: your code {exc}.", exc.status
    if isinstance(exc, CheckFailed):
        return str(exc), None
    if isinstance(exc, AssertionError):
        text = str(exc)
        # pytest appends its own introspection after the author's message: keep the message
        head = text.split("\nassert ", 1)[0].split("\nAssertionError", 1)[0]
        return (head.strip() or "a check failed"), None
    if isinstance(exc, pytest.fail.Exception):
        return (str(getattr(exc, "msg", "")) or "a check failed"), None
    return GRADER_ERROR_MESSAGE, None


class GradingPlugin:
    """Registered with ``pytest.main(..., plugins=[plugin])`` for one submission."""

    def __init__(self, make_submission: Any, profile: dict, seed: int,
                 public_only: bool = False, targets: tuple[str, ...] = (), check_budget: float | None = None) -> None:
        self.make_submission = make_submission
        self.check_budget = check_budget  # seconds of worker time per check, unless its mark says; None: none
        self._check: tuple[str, bool, float | None] = ("", False, check_budget)  # the running check
        self._profile = profile
        self._seed = seed
        self.public_only = public_only
        self.targets = targets
        self.outcomes: dict[str, TestOutcome] = {}
        self._budgets: dict[str, float | None] = {}
        self._submission: Submission | None = None
        self.collect_errors: list[str] = []
        self.feedback_items: list[dict] = []  # items recorded by tests through the feedback fixture

    # ------------------------------------------------------------------ hooks
    def pytest_configure(self, config: pytest.Config) -> None:
        marks.register(config)

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep, drop, read = [], [], {}
        for item in items:
            try:
                read[item.name] = item_marks = marks.read_marks(item)
            except marks.MarkError as exc:  # the suite's mistake: no check of it is graded
                self.collect_errors.append(str(exc))
                drop.append(item)
                continue
            if (self.public_only and item_marks.hidden) or (self.targets and item_marks.target not in self.targets):
                drop.append(item)
            else:
                keep.append(item)
        if self.collect_errors:
            keep, drop = [], list(items)
        if drop:
            config.hook.pytest_deselected(items=drop)
        # public checks first (stable): none runs after a hidden check has used the worker
        items[:] = sorted(keep, key=lambda it: read[it.name].hidden)
        for item in items:
            doc = getattr(item.obj, "__doc__", None) or ""  # type: ignore[attr-defined]
            title = doc.strip().split("\n", 1)[0].strip() or item.name
            item_marks = read[item.name]
            self.outcomes[item.name] = TestOutcome(
                name=item.name, title=title, points=item_marks.points,
                hidden=item_marks.hidden, target=item_marks.target,
            )
            self._budgets[item.name] = item_marks.budget if item_marks.budget is not None else self.check_budget

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """A check begins (before its fixtures): its budget starts, and its worker is fresh if
        it is the first hidden one."""
        record = self.outcomes.get(item.name)
        self._check = (item.name, bool(record and record.hidden), self._budgets.get(item.name, self.check_budget))
        if self._submission is not None:
            self._submission.begin_check(*self._check)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(str(report.longrepr)[-3000:])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
        outcome = yield
        report = outcome.get_result()
        record = self.outcomes.get(item.name)
        if record is None:
            return
        if report.when == "call" or (report.when == "setup" and report.failed):
            record.seconds += call.duration
            if report.passed:
                record.passed = True
            elif report.skipped:
                record.message = "skipped"
            elif call.excinfo is not None:
                record.passed = False
                record.message, record.crashed = student_message(call.excinfo)
                if is_grader_error(call.excinfo):
                    record.grader_error = grader_error_detail(call.excinfo)
        elif report.when == "setup" and report.skipped:
            record.message = "skipped"

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture(scope="session")
    def submission(self) -> Submission:
        if self._submission is None:
            self._submission = self.make_submission()
            self._submission.begin_check(*self._check)
        return self._submission

    @pytest.fixture(scope="session")
    def profile(self) -> dict:
        return dict(self._profile)

    @pytest.fixture(scope="session")
    def course_seed(self) -> int:
        return self._seed

    @pytest.fixture(scope="session")
    def trusted_cache(self) -> Any:
        """The trusted side's cache of its own measurements (:mod:`grader.engine.cache`); off when
        no cache folder is set (``grade_file`` called directly) or with ``--no-cache``."""
        from grader.engine.cache import TrustedCache, active_dir

        return TrustedCache(active_dir(), self._profile, self._seed)

    @pytest.fixture
    def feedback(self, request: pytest.FixtureRequest) -> Feedback:
        recorder = Feedback(request.node.name)
        yield recorder
        self.feedback_items.extend(recorder.items)

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        digest = hashlib.sha256(f"{self._seed}:{request.node.name}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

