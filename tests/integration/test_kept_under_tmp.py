"""A checkout and its virtual environment under /tmp (where CI clones) stay visible to the
worker, read-only, although the worker's /tmp is a folder of its own scratch tmpfs."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from grader.config import load_course
from grader.engine import sandbox
from grader.engine.grading import grade_file
from tests.conftest import COURSE_DIR

PROBE = '''
import os
import sys


def scale(x):
    sys.path.insert(0, {lib!r})
    report = {{}}
    try:
        import kept_under_tmp
        report["imported"] = kept_under_tmp.VALUE
    except Exception as exc:
        report["imported"] = type(exc).__name__
    try:
        with open(os.path.join({lib!r}, "planted.py"), "w") as handle:
            handle.write("x = 1")
        report["write"] = "written"
    except OSError as exc:
        report["write"] = type(exc).__name__
    with open("/tmp/mine.txt", "w") as handle:  # the worker's own /tmp still takes files
        handle.write("ok")
    report["own_tmp"] = open("/tmp/mine.txt").read()
    return report
'''


def test_kept_paths_under_tmp_stay_visible_and_read_only(monkeypatch, tmp_path):
    lib = Path(tempfile.mkdtemp(prefix="grader-kept-", dir="/tmp")) / "lib"
    lib.mkdir()
    (lib / "kept_under_tmp.py").write_text("VALUE = 42\n")
    real = sandbox._keep_paths
    monkeypatch.setattr(sandbox, "_keep_paths", lambda: [*real(), str(lib)])
    sub = tmp_path / "probe.py"
    sub.write_text(PROBE.format(lib=str(lib)))
    course = load_course(COURSE_DIR / "autograder.toml")
    try:
        result = grade_file(sub, assignment="demo_model", course=course, device="cpu")
    finally:
        for child in lib.iterdir():
            child.unlink()
        lib.rmdir()
        lib.parent.rmdir()
    assert str(lib) in result.sandbox["read_only"]
    report = next(ast.literal_eval(item["text"]) for item in result.feedback
                  if item.get("test") == "test_scale" and item.get("kind") == "text")
    assert report["imported"] == 42  # without the bind back: ModuleNotFoundError (/tmp is the scratch's)
    assert report["write"] in ("OSError", "PermissionError")  # EROFS
    assert report["own_tmp"] == "ok"
