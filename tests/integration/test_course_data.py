"""Adopting an existing course (issue 15), engine side, on a tiny course built here.

Real worker processes (no TensorFlow): declared course data appears read-only at its path
in the worker's folder and nothing else of the data folder does; a graded cell that cannot
load its data is that cell's error, and later NameErrors say so; a graded name's alias
(an older template era) is graded under the canonical name; a probe's own bug is the
grader's error, not "your code raised".
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.config import load_course
from grader.engine.grading import grade_file

SLOT = 26

CONFIG = """
[course]
name = "adoption"
preload = ["numpy"]

[limits]
timeout = 30
memory = "2GiB"

[assignments.loader]
notebook = "loader/loader.py"
suite = "loader/test_loader.py"
graded = ["total|old_total", "data_shape"]
data = {"data/numbers.npz" = "numbers.npz"}

[assignments.no_data]
notebook = "loader/loader.py"
suite = "loader/test_loader.py"
graded = ["total|old_total", "data_shape"]
"""

SUITE = '''
import pytest
from grader.checks import expect_equal


@pytest.mark.points(1)
def test_total(submission):
    """total: the sum of the course's numbers"""
    expect_equal(submission.call("total"), 10.0, what="total()")


@pytest.mark.points(1)
def test_shape(submission):
    """data_shape"""
    expect_equal(submission.value("data_shape"), [4], what="data_shape")


def attack(ns, secret_dirs):
    import os
    tried = {}
    path = os.path.join(os.getcwd(), "data", "numbers.npz")
    for name, act in [
        ("write", lambda: open(path, "ab").write(b"x")),
        ("truncate", lambda: open(path, "wb").close()),
        ("unlink", lambda: os.unlink(path)),
        ("rename", lambda: os.rename(path, path + ".moved")),
        ("chmod", lambda: os.chmod(path, 0o666)),
        ("new_file", lambda: open(os.path.join(os.path.dirname(path), "mine"), "wb").close()),
        ("umount", lambda: __import__("ctypes").CDLL(None).umount2(path.encode(), 2) == 0 or 1 / 0),
    ]:
        try:
            act()
            tried[name] = "done"
        except Exception as exc:
            tried[name] = type(exc).__name__
    tried["listing"] = sorted(os.listdir(os.path.dirname(path)))
    tried["size"] = os.path.getsize(path)
    tried["secret"] = [os.path.exists(os.path.join(d, name)) for d in secret_dirs
                       for name in ("secret.txt", "numbers.npz")]
    return tried


@pytest.mark.points(0)
def test_attack(submission):
    """(records what the worker could do to the data)"""
    import os
    data = os.environ["GRADER_DATA_DIR"]  # the trusted side's data folder
    found = submission.probe(attack, [data, "/proc/1/root" + data, "/proc/self/root" + data])
    assert found == "shown in this message", repr(found)


def buggy(ns):
    return {}["the suite's own bug"]


@pytest.mark.points(1)
def test_buggy_probe(submission):
    """a probe with a bug of the suite's"""
    submission.probe(buggy)
'''

GOOD = """
# %%
import os
import numpy as np

# %%
# GRADED: data
data_path = os.path.join(os.getcwd(), "data/numbers.npz")
with np.load(data_path) as data:
    numbers = data["x"]
data_shape = list(numbers.shape)

# %%
# GRADED FUNCTION: total
def old_total():
    return float(numbers.sum())

# %%
result = old_total()   # exploration: never run
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("adoption")
    data = tmp_path_factory.mktemp("data")
    np.savez(data / "numbers.npz", x=np.array([1.0, 2.0, 3.0, 4.0]))
    (data / "secret.txt").write_text("the test labels")
    (root / "autograder.toml").write_text(CONFIG)
    (root / "loader").mkdir()
    (root / "loader" / "test_loader.py").write_text(SUITE)
    (root / "loader" / "loader.py").write_text("")
    return load_course(root / "autograder.toml"), data


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    spec, data = course
    folder = tmp_path_factory.mktemp("subs")
    path = folder / "good.py"
    path.write_text(GOOD)
    mp = pytest.MonkeyPatch()
    mp.setenv("GRADER_DATA_DIR", str(data))
    try:
        with_data = grade_file(path, assignment="loader", course=spec, slot=SLOT)
        without = grade_file(path, assignment="no_data", course=spec, slot=SLOT)
    finally:
        mp.undo()
    return with_data, without, data


def test_declared_data_is_visible_read_only_and_alone(graded):
    result, _, data = graded
    # the suite's deliberately buggy probe makes the row a grader error, and nothing else does
    assert result.status == "grader-error", result.message
    assert [t for t, r in result.tests.items() if r.status == "grader-error"] == ["test_buggy_probe"]
    assert result.tests["test_total"].status == "passed", result.tests["test_total"].output  # alias old_total
    assert result.tests["test_shape"].status == "passed", result.tests["test_shape"].output
    assert not result.load_errors
    assert any("data/numbers.npz: read-only" in line for line in result.sandbox.get("data", [])), result.sandbox
    seen = result.tests["test_attack"].output
    for attempt in ("write", "truncate", "unlink", "rename", "chmod", "new_file", "umount"):
        assert f"'{attempt}': 'done'" not in seen, seen
    assert "'listing': ['numbers.npz']" in seen and "'secret': [False, False, False, False, False, False]" in seen, seen
    assert "'size': " in seen
    assert np.load(data / "numbers.npz")["x"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert sorted(p.name for p in data.iterdir()) == ["numbers.npz", "secret.txt"]


def test_a_cell_that_cannot_load_its_data_is_its_own_error(graded):
    _, result, _ = graded
    [error] = [e for e in result.load_errors if e["type"] == "FileNotFoundError"]
    assert error["label"] == "graded cell 'data'" and "line 3" in error["where"], error
    message = result.tests["test_total"].output
    assert "NameError: name 'numbers' is not defined" in message, message
    assert "`numbers` is not defined because running your graded cell 'data' failed: FileNotFoundError" in message
    assert "graded cells run on their own" not in message
    assert "because running your graded cell 'data' failed: FileNotFoundError" in result.tests["test_shape"].output


def test_a_probe_bug_is_the_graders_not_the_students(graded):
    result, _, _ = graded
    check = result.tests["test_buggy_probe"]
    from grader.engine.plugin import GRADER_ERROR_MESSAGE

    # the student reads the neutral text; the instructor's detail says whose bug it was
    assert check.status == "grader-error" and check.output == GRADER_ERROR_MESSAGE, check
    assert "the grader's own check failed, not your code" in check.detail, check.detail
    assert "buggy() raised KeyError" in check.detail and "your code raised" not in check.output
    assert any("test_buggy_probe" in e for e in result.grader_errors), result.grader_errors


def test_an_alias_is_graded_under_the_canonical_name_and_named_when_missing(course, tmp_path):
    spec, _ = course
    from grader.source.extract import build_program
    from grader.source.notebook import read_submission

    path = tmp_path / "missing.py"
    path.write_text("def something_else():\n    return 1\n")
    program = build_program(read_submission(path), ("total",), {"total": ("old_total",)})
    assert any("`total` is not defined anywhere" in p and "`old_total`" in p for p in program.problems)
    assert spec.assignments["loader"].graded == ("total", "data_shape")
    assert spec.assignments["loader"].aliases == {"total": ("old_total",)}
    assert spec.assignments["loader"].data == (("data/numbers.npz", "numbers.npz"),)


def test_undeclared_or_escaping_data_is_refused(tmp_path):
    from grader.config import ConfigError

    for table in ('{"../x" = "a"}', '{"/etc/x" = "a"}', '{"x" = "../secret"}'):
        (tmp_path / "autograder.toml").write_text(
            f'[assignments.a]\nnotebook = "a.py"\nsuite = "t.py"\ndata = {table}\n')
        with pytest.raises(ConfigError, match="relative path"):
            load_course(tmp_path / "autograder.toml")


def test_a_missing_data_file_is_the_courses_error(course, tmp_path, monkeypatch):
    from grader.config import ConfigError
    from grader.engine.grading import course_data

    spec, _ = course
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="numbers.npz"):
        course_data(spec, spec.assignments["loader"])

