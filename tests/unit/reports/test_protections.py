"""The confinement report read as protections: enforced, or not and why; in the summary and
from `grader doctor`."""

from __future__ import annotations

import subprocess
import sys

from grader.reports.protections import missing, protections, summary_line

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


def test_everything_enforced_reads_as_such():
    assert missing(FULL) == []
    assert summary_line(FULL) == f"sandbox: {len(protections(FULL))} protections enforced"


def test_a_normal_users_mode_needs_no_uid_of_its_own_when_the_mounts_are_locked():
    report = dict(FULL, uid="unchanged (1000)")
    assert missing(report) == []
    unlocked = dict(report, mounts_locked=False)
    assert {p.name for p in missing(unlocked)} == {"mounts locked", "own uid"}


def test_what_is_missing_is_named_with_the_reason():
    report = dict(FULL, seccomp="not enforced: no seccomp library (OSError: libseccomp.so.2)")
    del report["tasks"]
    line = summary_line(report)
    assert line.startswith("sandbox: NOT enforced: ")
    assert "seccomp filter (not enforced: no seccomp library (OSError: libseccomp.so.2))" in line
    assert "task limit (not reported)" in line
    assert summary_line({}) == "sandbox: no worker ran"


def test_grader_doctor_starts_a_worker_and_prints_the_table(tmp_path):
    out = subprocess.run([sys.executable, "-m", "grader.cli", "doctor"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for name in ("network blocked", "mounts locked", "no capabilities", "seccomp filter"):
        line = next(row for row in out.stdout.splitlines() if row.startswith(name))
        assert " enforced " in line, line  # this machine (root or a normal user) enforces them
