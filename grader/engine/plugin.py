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

The trusted side's own work in a check (rebuilding, training and evaluating the student's
model, reading data) has its own deadline, ``[limits] trusted_check_timeout``
(:class:`TrustedTimer`): past it the check stops with :class:`TrustedTimeout` and is the
grader's (``grader-error``; the instructor is told), never the student's failure; its time
waiting on the worker is the worker budget's business and does not count.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from dataclasses import dataclass
from types import FrameType
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


class TrustedTimeout(BaseException):
    """The trusted side's own work in one check ran past ``[limits] trusted_check_timeout``.

    A BaseException, so that a suite's ``except Exception`` cannot swallow it; pytest
    reports it as the check's failure, which :func:`is_grader_error` counts as the grader's."""


def trusted_check_budget(limits: Any) -> float | None:
    """Seconds of trusted work one check may use: ``trusted_check_timeout`` (default: half of
    ``trusted_timeout``; 0: no limit per check), never more than ``trusted_timeout``."""
    per_check = getattr(limits, "trusted_check_timeout", None)
    total = float(getattr(limits, "trusted_timeout", 0) or 0)
    if per_check is None:
        return total / 2 if total > 0 else None
    if per_check <= 0:
        return None
    return min(float(per_check), total) if total > 0 else float(per_check)


def _waiting_on_worker(frame: FrameType | None) -> bool:
    """Whether the main thread, interrupted in ``frame``, is inside a request to the worker
    (its time is the worker budget's; an exception there would tear the protocol)."""
    while frame is not None:
        if frame.f_code in _WORKER_CODES:
            return True
        frame = frame.f_back
    return False


class TrustedTimer:
    """The deadline of one check's trusted work: a SIGALRM in the runner's main thread (as
    pytest-timeout's signal method), re-armed until the check's time outside the worker
    reaches ``seconds``; it raises :class:`TrustedTimeout` only where the main thread runs
    trusted code, never inside a request to the worker. The Python handler runs between
    bytecodes: one long TensorFlow op ends first (the batch's runner timeout is the backstop)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = 0.0
        self.in_worker = 0.0  # seconds this check waited on the worker, measured at the edges
        self._since: float | None = None  # inside a request since
        self._previous: Any = None
        self.armed = False
        self.paused = True  # between the phases of a check, or between checks

    def trusted_seconds(self, now: float) -> float:
        waiting = self.in_worker + (now - self._since if self._since is not None else 0.0)
        return now - self.started - waiting

    def begin(self) -> None:
        """A check begins (its fixtures first): its trusted time starts at 0, paused."""
        self.in_worker, self.started = 0.0, time.monotonic()
        self._since = self.started
        if (not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None)):
            return  # no timers here (or not the main thread), or someone else's (pytest-timeout): leave them
        self._previous = signal.signal(signal.SIGALRM, self._fire)
        self.armed = True

    def resume(self) -> None:
        """Its setup or its body runs: time counts (an exception raised here is the check's)."""
        self.leave_worker()
        self.paused = False
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, max(self.seconds - self.trusted_seconds(time.monotonic()), 0.05))

    def pause(self) -> None:
        """Back in pytest's own code between the phases: no exception may land there."""
        self.paused = True
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
        self.enter_worker()

    def end(self) -> None:
        if not self.armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
        self.armed = False

    def enter_worker(self) -> None:
        if self._since is None:
            self._since = time.monotonic()

    def leave_worker(self) -> None:
        if self._since is not None:
            self.in_worker += time.monotonic() - self._since
            self._since = None

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        if not self.armed or self.paused:
            return
        now = time.monotonic()
        left = self.seconds - self.trusted_seconds(now)
        if self._since is not None or _waiting_on_worker(frame):
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.5))  # look again after the request
            return
        if left > 0.05:
            signal.setitimer(signal.ITIMER_REAL, left)
            return
        self.enter_worker()  # stopped: nothing more is counted until the next phase resumes it
        raise TrustedTimeout(
            f"the grader's own work in this check (rebuilding, training or evaluating a model, reading "
            f"data) ran past its {self.seconds:g} s limit ([limits] trusted_check_timeout; its time "
            "waiting on the student's code not counted) and was stopped: the grader's limit, not a "
            "verdict on the student's code. Raise the limit, or lower [limits] max_flops/max_params "
            "so that such models are refused up front.")


def trusted_memory_note(exc: BaseException) -> str:
    """For a check whose trusted work ran out of memory (the runner's RLIMIT_DATA,
    ``[limits] trusted_memory``): a line saying so, for the instructor; else ''."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"MemoryError", "ResourceExhaustedError"}:
        return ("the grader's own work in this check ran out of memory under the runner's limit "
                "([limits] trusted_memory): the grader's limit, not a verdict on the student's code.\n")
    return ""


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
                 public_only: bool = False, targets: tuple[str, ...] = (), check_budget: float | None = None,
                 trusted_budget: float | None = None) -> None:
        self.make_submission = make_submission
        # seconds of trusted work per check (TrustedTimer); None: no deadline per check
        self.timer = TrustedTimer(trusted_budget) if trusted_budget else None
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

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item):  # type: ignore[no-untyped-def]
        """A check begins (before its fixtures): its budget starts, and its worker is fresh if
        it is the first hidden one; its trusted deadline runs from here."""
        record = self.outcomes.get(item.name)
        self._check = (item.name, bool(record and record.hidden), self._budgets.get(item.name, self.check_budget))
        if self._submission is not None:
            self._submission.begin_check(*self._check)
        if self.timer is not None:  # the check's trusted deadline: its fixtures and its body
            self.timer.begin()
        yield from self._timed_phase()

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item):  # type: ignore[no-untyped-def]
        yield from self._timed_phase()

    def _timed_phase(self):  # type: ignore[no-untyped-def]
        """Around a check's setup (its fixtures) and its body: the trusted deadline runs only
        there, where pytest reports whatever is raised as the check's outcome."""
        if self.timer is not None:
            self.timer.resume()
        try:
            yield
        finally:
            if self.timer is not None:
                self.timer.pause()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        if self.timer is not None:
            self.timer.end()

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
                    record.grader_error = trusted_memory_note(call.excinfo.value) + grader_error_detail(call.excinfo)
        elif report.when == "setup" and report.skipped:
            record.message = "skipped"

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture(scope="session")
    def submission(self) -> Submission:
        if self._submission is None:
            if self.timer is not None:  # starting the worker and running the cells: not trusted work
                self.timer.enter_worker()
            try:
                self._submission = self.make_submission()
            finally:
                if self.timer is not None:
                    self.timer.leave_worker()
            self._submission.begin_check(*self._check)
            if self.timer is not None:
                _time_requests(self._submission, self.timer)
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



def _time_requests(made: Submission, timer: TrustedTimer) -> None:
    """Tell ``timer`` when ``made`` waits on its worker (a request, a fresh worker running the
    cells again): that time is not the trusted side's. On this instance only."""
    inner = made._request

    def timed(request: dict, what: str) -> dict:
        timer.enter_worker()
        try:
            return inner(request, what)
        finally:
            timer.leave_worker()

    made._request = timed  # type: ignore[method-assign]


# code objects during which the main thread waits on the worker (see _waiting_on_worker)
_WORKER_CODES = {Submission._request.__code__, Submission._renew.__code__}
