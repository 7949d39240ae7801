"""The worker cannot undo its sandbox, whoever runs the grader (root, or a normal user, as
the non-root part of .ci/run does): every mount stays, no capability, seccomp on."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from grader.config import load_course
from grader.engine.grading import grade_file
from grader.worker.lockdown import CLONE_NAMESPACE_FLAGS, DENIED
from tests.conftest import COURSE_DIR, ROOT

SUBMISSION = Path(__file__).resolve().parent / "lockdown" / "undo_mounts.py"


@pytest.fixture(scope="module")
def undo_mounts(tmp_path_factory):
    copy = tmp_path_factory.mktemp("lockdown") / "undo_mounts.py"
    copy.write_text(SUBMISSION.read_text())
    course = load_course(COURSE_DIR / "autograder.toml")
    result = grade_file(copy, assignment="demo_model", course=course, device="cpu")
    report = next(ast.literal_eval(item["text"]) for item in result.feedback
                  if item.get("test") == "test_scale" and item.get("kind") == "text")
    return result, report


def test_nothing_can_be_unmounted_or_mounted(undo_mounts):
    result, report = undo_mounts
    assert report["mounts_seen"] > 3
    assert report["unmounted"] == []
    assert report["mount_tmpfs"] == "EPERM" and report["mount_proc"] == "EPERM"
    assert report["pids_visible"][0] == 1 and max(report["pids_visible"]) < 100  # its own PID namespace


def test_no_capability_no_namespace_no_tracing(undo_mounts):
    result, report = undo_mounts
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(report[key], 16) == 0, (key, report[key])
    assert report["NoNewPrivs"] == "1" and report["Seccomp"] == "2"
    assert report["unshare_user"] == "EPERM" and report["unshare_mount"] == "EPERM"
    assert report["ptrace_traceme"] == "EPERM" and report["process_vm_readv"] == "EPERM"


def test_the_result_says_what_was_enforced(undo_mounts):
    result, _ = undo_mounts
    assert result.status == "ok"
    assert result.sandbox["mounts_locked"] is True
    assert result.sandbox["capabilities"] == "dropped"
    assert re.fullmatch(r"enforced \(\d+ syscalls denied\)", result.sandbox["seccomp"])
    if os.geteuid() == 0:
        assert isinstance(result.sandbox["uid"], int)  # a uid of its own


def test_security_md_lists_every_denied_call():
    text = (ROOT / "docs" / "SECURITY.md").read_text()
    for name, _errno, _why in DENIED:
        assert f"| `{name}` |" in text, name
    for flag, _bit in CLONE_NAMESPACE_FLAGS:
        assert flag in text
