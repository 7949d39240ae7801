"""Marks are validated data: a misspelled or malformed mark stops release and validate, with
the file, the line and the mark; at grading time the suite runs with --strict-markers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.engine.marks import MarkError, check_suite, read_marks

COURSE = Path(__file__).resolve().parents[2] / "course"


def test_known_marks_pass_and_pytest_own_marks_are_allowed():
    source = (
        "import pytest\n"
        "@pytest.mark.points(2)\n@pytest.mark.hidden\n@pytest.mark.target('add')\n"
        "@pytest.mark.parametrize('x', [1, 2])\n@pytest.mark.timeout(30)\ndef test_a(x): pass\n"
    )
    assert check_suite(source, "s.py") == []


@pytest.mark.parametrize(("line", "words"), [
    ("@pytest.mark.hiden", ["s.py:2:", "unknown marker @pytest.mark.hiden", "did you mean @pytest.mark.hidden"]),
    ("@pytest.mark.points", ["s.py:2:", "@pytest.mark.points needs exactly one argument"]),
    ("@pytest.mark.points('2')", ["points must be a number >= 0"]),
    ("@pytest.mark.points(-1)", ["points must be a number >= 0"]),
    ("@pytest.mark.points(True)", ["points must be a number >= 0"]),
    ("@pytest.mark.budget(0)", ["budget must be a number > 0"]),
    ("@pytest.mark.hidden(True)", ["@pytest.mark.hidden takes no arguments"]),
    ("@pytest.mark.target(3)", ["the target must be a graded name"]),
    ("@mark.taget('add')", ["unknown marker @pytest.mark.taget", "did you mean @pytest.mark.target"]),
])
def test_each_malformed_mark_is_named_with_its_line(line, words):
    problems = check_suite(f"import pytest\n{line}\ndef test_a(): pass\n", "s.py")
    assert len(problems) == 1
    for word in words:
        assert word in problems[0]


def test_a_module_level_pytestmark_is_checked_too():
    assert "unknown marker @pytest.mark.hiddden" in check_suite("import pytest\npytestmark = [pytest.mark.hiddden]\n")[0]


class _Item:
    nodeid = "test_x.py::test_a"

    def __init__(self, **marks):
        self._marks = marks

    def get_closest_marker(self, name):
        if name not in self._marks:
            return None
        args, kwargs = self._marks[name]
        return SimpleNamespace(name=name, args=args, kwargs=kwargs)  # what read_marks reads of a Mark


def test_read_marks_at_collection():
    marks = read_marks(_Item(points=((3,), {}), hidden=((), {}), target=(("add",), {})))
    assert (marks.points, marks.hidden, marks.target) == (3.0, True, "add")
    assert read_marks(_Item()).points == 1.0
    with pytest.raises(MarkError, match="test_x.py::test_a: @pytest.mark.points needs exactly one argument"):
        read_marks(_Item(points=((), {})))


@pytest.fixture
def misspelled_course(tmp_path: Path) -> Path:
    """A copy of the engine's test course whose demo suite marks a hidden check `hiden`."""
    course = tmp_path / "course"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns("submissions", "__pycache__"))
    suite = course / "demo" / "test_demo.py"
    text = suite.read_text()
    assert "@pytest.mark.hidden\n" in text
    suite.write_text(text.replace("@pytest.mark.hidden\n", "@pytest.mark.hiden\n", 1))
    return course


@pytest.mark.parametrize("command", [["release"], ["release", "--check"], ["validate", "demo"]])
def test_release_and_validate_refuse_a_misspelled_mark(misspelled_course: Path, command):
    out = subprocess.run([sys.executable, "-m", "grader.cli", *command], cwd=misspelled_course,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "test_demo.py:16: unknown marker @pytest.mark.hiden" in out.stderr
    assert "nothing was released" in out.stderr
    assert not (misspelled_course / "assignments").exists()  # nothing was shipped


def test_a_suites_total_is_read_without_running_it(tmp_path):
    """suite_max_score: the total a row no suite ran on still carries (refused file, dead runner)."""
    import dataclasses

    from grader.config import load_course
    from grader.engine.marks import suite_max_score

    course = load_course(COURSE / "autograder.toml")
    assert suite_max_score(course, course.assignment("demo")) == 7.0
    assert suite_max_score(course, course.assignment("demo_model")) == 8.0
    suite = tmp_path / "test_x.py"
    suite.write_text(
        "import pytest\n"
        "@pytest.mark.points(2)\n@pytest.mark.parametrize('a', [1, 2, 3])\ndef test_a(a): pass\n"
        "def test_b(): pass\n"
        "class TestC:\n    @pytest.mark.points(0.5)\n    def test_d(self): pass\n"
    )
    spec = dataclasses.replace(course.assignment("demo"), suite=suite)
    assert suite_max_score(course, spec) == 2 * 3 + 1 + 0.5
    suite.write_text("import pytest\nCASES = [1, 2]\n@pytest.mark.parametrize('a', CASES)\ndef test_a(a): pass\n")
    assert suite_max_score(course, spec) == 0.0  # cases computed at collection: not known statically
