"""Shared fixtures: the engine's test course, offline data, and a clean process table."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COURSE_DIR = ROOT / "tests" / "course"

# grading suites and submissions live under tests/ but are data for our tests, not tests
collect_ignore_glob = ["course/*", "submissions/*", "hostile/submissions/*"]

# never download anything in tests; CI sets GRADER_DATA_DIR to ../shared/datasets
os.environ.setdefault("GRADER_OFFLINE", "1")
if "GRADER_DATA_DIR" not in os.environ and (ROOT.parent / "shared" / "datasets").is_dir():
    os.environ["GRADER_DATA_DIR"] = str(ROOT.parent / "shared" / "datasets")


@pytest.fixture(scope="session")
def course():
    from grader.config import load_course

    return load_course(COURSE_DIR / "autograder.toml")


@pytest.fixture(scope="session")
def real_course():
    from grader.config import load_course

    return load_course(ROOT / "autograder.toml")


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A private copy of the demo course submissions, safe to modify."""
    target = tmp_path / "subs"
    shutil.copytree(COURSE_DIR / "submissions", target)
    return target
