"""`grader grade` as a person runs it: in a terminal (a real pseudo-terminal), and piped.

The tests used to run the command only with its output piped, so a crash that happened
only when stderr is a terminal (tqdm's ``bool()`` on a bar without a total) went unseen.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import COURSE_DIR

GRADER = [sys.executable, "-m", "grader.cli", "--config", str(COURSE_DIR / "autograder.toml")]


def _run_in_pty(argv: list[str], cwd: Path, size: tuple[int, int] | None, timeout: float = 120) -> tuple[int, str]:
    """Run argv with stdin/stdout/stderr on a new pseudo-terminal; its exit code and all it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal
        try:
            os.chdir(cwd)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    if size is not None:  # rows, columns; without this the terminal reports 0 x 0 (as `script` does)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


@pytest.fixture
def two_subs(tmp_path: Path) -> list[str]:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("good.py", "wrong.py"):
        shutil.copy(COURSE_DIR / "submissions" / name, subs / name)
    return [str(subs / "good.py"), str(subs / "wrong.py")]


@pytest.mark.parametrize("size", [(24, 100), None], ids=["sized-terminal", "terminal-without-size"])
def test_grade_in_a_terminal_shows_a_bar_and_exits_0(two_subs, tmp_path, size):
    code, out = _run_in_pty([*GRADER, "grade", *two_subs, "--assignment", "demo", "--out", str(tmp_path / "out")],
                            tmp_path, size)
    assert code == 0, out
    assert "Traceback" not in out, out
    assert "2 submission(s) to grade" in out  # said before the slow start
    assert "grading: 100%" in out and "2/2" in out, out  # the bar was drawn and finished
    assert "good" in out and "wrong" in out  # the table follows
    assert (tmp_path / "out" / "grades.csv").is_file()


def test_grade_in_a_terminal_resumes_with_the_bar_counting_done_work(two_subs, tmp_path):
    out_dir = tmp_path / "out"
    args = [*GRADER, "grade", *two_subs, "--assignment", "demo", "--out", str(out_dir)]
    assert _run_in_pty(args, tmp_path, (24, 100))[0] == 0
    code, out = _run_in_pty(args, tmp_path, (24, 100))
    assert code == 0, out
    assert "0 submission(s) to grade, 2 already graded" in out, out


def test_grade_piped_prints_a_line_per_submission(two_subs, tmp_path):
    proc = subprocess.run([*GRADER, "grade", *two_subs, "--assignment", "demo", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "grading:" not in proc.stderr  # no bar when nobody watches
    lines = [line for line in proc.stderr.splitlines() if line.startswith(("good:", "wrong:"))]
    assert len(lines) == 2, proc.stderr
    assert any(line.endswith(" ok") for line in lines)
