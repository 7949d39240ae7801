"""Issue 11.2: where a worker runs without a protection, the batch says so once, not once per
submission, naming what is missing (grader.reports.protections.missing) and where to read
more. The backend is a fake that hands back results with chosen ``sandbox`` reports, so the
test needs no worker and sees the batch's own logic only."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import grader.batch.batch as batch_module
from grader.batch.batch import grade_batch
from grader.batch.device import DeviceChoice
from grader.batch.jobs import Job
from grader.model import SubmissionResult
from tests.conftest import COURSE_DIR

FULL = {
    "network": "blocked: own network namespace, no interface up",
    "hidden": ["/tmp", "/root"],
    "processes": "own PID namespace: host processes invisible, all killed with the worker",
    "mounts_locked": True,
    "capabilities": "dropped",
    "seccomp": "enforced (63 syscalls denied)",
    "tasks": "RLIMIT_NPROC 512, counted in the worker's own user namespace",
    "disk": {"scratch": "tmpfs size=268435456,nr_inodes=20000,mode=0700"},
    "rlimits": {"memory": 3 << 30, "output": 1 << 25},
    "uid": 61000,
}
NO_SECCOMP = dict(FULL, seccomp="not enforced: no seccomp library (OSError: libseccomp.so.2)")
NO_SECCOMP_NO_TASKS = {k: v for k, v in NO_SECCOMP.items() if k != "tasks"}


def _fake_backend(reports: dict[str, dict], order: list[str]):
    """A Backend whose results carry ``reports[name]`` as their sandbox report, in ``order``."""

    class Fake:
        device_name = "cpu"

        def __init__(self, paths, course, out, assignment, device, jobs, limits) -> None:
            self.assignment = assignment

        def start(self, todo: list[Job]) -> None:
            pass

        def grade(self, todo: list[Job]) -> Iterator[tuple[Job, SubmissionResult]]:
            jobs = {job.name: job for job in todo}
            for name in order:
                job = jobs[name]
                yield job, SubmissionResult(submission=name, path=str(job.path), assignment=self.assignment,
                                            status="ok", message="", score=1.0, max_score=1.0,
                                            sandbox=dict(reports[name]))

        def close(self) -> None:
            pass

    return Fake


def _grade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reports: dict[str, dict], order: list[str], **kwargs):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in reports:
        shutil.copy(COURSE_DIR / "submissions" / "good.py", subs / f"{name}.py")
    monkeypatch.setattr(batch_module, "LocalSlots", _fake_backend(reports, order))
    return grade_batch([subs], kwargs.pop("course"), tmp_path / "out", "demo", DeviceChoice("cpu", 0), **kwargs)


def test_the_first_result_without_a_protection_brings_one_warning(tmp_path, monkeypatch, course):
    lines: list[str] = []
    reports = {"a": FULL, "b": NO_SECCOMP_NO_TASKS, "c": NO_SECCOMP, "d": NO_SECCOMP}
    results = _grade(tmp_path, monkeypatch, reports, ["a", "b", "c", "d"], course=course,
                     log=lines.append, warn=lambda line: lines.append("WARN " + line))
    assert len(results) == 4
    warnings = [line for line in lines if line.startswith("WARN ")]
    assert len(warnings) == 1, lines
    [line] = warnings
    assert line.startswith("WARN warning: on this machine the worker runs without: ")
    assert "seccomp filter (not enforced: no seccomp library (OSError: libseccomp.so.2))" in line
    assert "task limit (not reported)" in line
    assert "network blocked" not in line and "own uid" not in line  # only what is missing
    assert line.endswith("; see docs/SECURITY.md (grader doctor prints the table)")
    # after b's row, the first one without a protection (a's worker had them all)
    assert lines.index(line) == lines.index("b: 1/1 ok") + 1, lines


def test_no_warning_when_every_worker_had_every_protection(tmp_path, monkeypatch, course):
    lines: list[str] = []
    # a normal user's worker keeps the grader's uid: with the mounts locked that is not a gap
    normal_user = dict(FULL, uid="unchanged (1000)")
    reports = {"a": FULL, "b": normal_user, "c": {}}  # c: no worker ran (an unreadable file)
    _grade(tmp_path, monkeypatch, reports, ["a", "b", "c"], course=course, log=lines.append,
           warn=lambda line: lines.append("WARN " + line))
    assert [line for line in lines if line.startswith("WARN")] == []
    assert len(lines) >= 3  # the log did see the rows


def test_by_default_the_warning_goes_to_stderr_even_when_the_log_is_silent(tmp_path, monkeypatch, capsys, course):
    reports = {"a": NO_SECCOMP, "b": NO_SECCOMP}
    _grade(tmp_path, monkeypatch, reports, ["a", "b"], course=course)  # log: silent by default
    err = capsys.readouterr().err
    assert err.count("warning: on this machine the worker runs without: seccomp filter") == 1, err
