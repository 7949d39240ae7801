"""`grader import-otter`: an otter-assign master notebook converted, then graded by our engine.

The master below is written in otter's v1 format (assignment config, question/solution/tests
raw cells, a hidden test, a test config block, a manual written question); its test cells
carry the outputs otter would have recorded when the instructor ran it. numpy only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

pytest.importorskip("otter.assign", reason="needs the [otter] extra")

from grader.config import load_course  # noqa: E402
from grader.course.release import public_suite, student_notebook  # noqa: E402
from grader.engine.grading import grade_file  # noqa: E402

COURSE_TOML = """[course]
name = "otter import test"
seed = 3
preload = ["numpy"]

[limits]
timeout = 30
memory = "2GiB"
processes = 256
output = "8MiB"
disk = "64MiB"
"""


def _test_cell(source: str) -> nbformat.NotebookNode:
    """A test cell as the instructor left it after running the master: its output recorded."""
    return new_code_cell(source, outputs=[new_output("execute_result", {"text/plain": "True"}, execution_count=1)])


def otter_master() -> nbformat.NotebookNode:
    cells = [
        new_raw_cell("# ASSIGNMENT CONFIG\nname: otter_demo\nexport_cell: false"),
        new_markdown_cell("# Vectors with numpy\nTwo small questions."),
        new_code_cell("import numpy as np"),
        # question 1: autograded, 4 points; the third case's config gives it 2 of them
        new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 4"),
        new_markdown_cell("**Question 1.** Write `normalize(x)`: `x` scaled to unit Euclidean length."),
        new_raw_cell("# BEGIN SOLUTION"),
        new_code_cell('def normalize(x):\n    """x / |x|"""\n    # BEGIN SOLUTION\n    x = np.asarray(x, dtype=float)\n'
                      "    # END SOLUTION\n    return x / np.linalg.norm(x)  # SOLUTION"),
        new_raw_cell("# END SOLUTION"),
        new_raw_cell("# BEGIN TESTS"),
        _test_cell("np.allclose(normalize([3, 4]), [0.6, 0.8])"),
        _test_cell("# HIDDEN\nbool(np.isclose(np.linalg.norm(normalize([1.0, 2.0, 2.0])), 1.0))"),
        _test_cell('""" # BEGIN TEST CONFIG\npoints: 2\nhidden: true\nfailure_message: keep the direction\n'
                   '""" # END TEST CONFIG\nnp.allclose(normalize([0, -5]), [0, -1])'),
        new_raw_cell("# END TESTS"),
        new_raw_cell("# END QUESTION"),
        # question 2: written answer, graded by a person
        new_raw_cell("# BEGIN QUESTION\nname: q2\nmanual: true\npoints: 2"),
        new_markdown_cell("**Question 2.** What does `normalize` return for the zero vector, and why?"),
        new_raw_cell("# BEGIN SOLUTION"),
        new_markdown_cell("An array of `nan`: its norm is 0, and 0 / 0 is not a number."),
        new_raw_cell("# END SOLUTION"),
        new_raw_cell("# END QUESTION"),
        new_code_cell("normalize(np.arange(10**6))  # exploration: never run by the grader"),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


WRONG = '''
import numpy as np

def normalize(x):
    x = np.asarray(x, dtype=float)
    return x / np.abs(x).sum()   # the 1-norm: right direction, wrong length
'''


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("otter")
    master = root / "incoming" / "hw.ipynb"
    master.parent.mkdir()
    nbformat.write(otter_master(), str(master))
    course = root / "course"
    course.mkdir()
    (course / "autograder.toml").write_text(COURSE_TOML, "utf-8")
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "import-otter", str(master), "--course-dir", str(course),
                           "--append"], capture_output=True, text=True, timeout=120, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return course, proc


def test_conversion_writes_our_exercise(converted):
    course_dir, proc = converted
    assert "wrote " in proc.stdout and "(3 test(s), 2 hidden)" in proc.stdout
    course = load_course(course_dir / "autograder.toml")
    spec = course.assignment("otter_demo")  # the name from otter's assignment config
    assert list(spec.graded) == ["normalize"]
    assert [(q.name, q.points) for q in spec.manual] == [("q2", 2)]
    assert "What does `normalize` return for the zero vector" in spec.manual[0].prompt

    nb = nbformat.read(str(spec.notebook), as_version=4)
    sources = [c.source for c in nb.cells]
    assert nb.metadata["grader"] == {"assignment": "otter_demo"}
    assert not [s for s in sources if "BEGIN QUESTION" in s or "BEGIN TESTS" in s or "ASSIGNMENT CONFIG" in s]
    assert "import grader" in sources
    graded = [c for c in nb.cells if "graded" in c.metadata.get("tags", [])]
    assert len(graded) == 1 and graded[0].source.startswith("# GRADED: q1\n")
    # otter's "# SOLUTION" line marker became a solution block that release strips
    assert "    # BEGIN SOLUTION\n    return x / np.linalg.norm(x)\n    # END SOLUTION" in graded[0].source
    checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
    assert [c.source for c in checks] == ['grader.check("q1")']
    answers = [c for c in nb.cells if "answer" in c.metadata.get("tags", [])]
    assert len(answers) == 1 and answers[0].source.startswith("<!-- ANSWER: q2 -->\nAn array of `nan`")

    suite = spec.suite.read_text("utf-8")
    tree = ast.parse(suite)
    tests = {f.name: ast.unparse(f) for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert sorted(tests) == ["test_q1_1", "test_q1_2", "test_q1_3"]
    assert "pytest.mark.hidden" not in tests["test_q1_1"] and "pytest.mark.points(1)" in tests["test_q1_1"]
    assert "pytest.mark.hidden" in tests["test_q1_2"] and "pytest.mark.points(1)" in tests["test_q1_2"]
    assert "pytest.mark.hidden" in tests["test_q1_3"] and "pytest.mark.points(2)" in tests["test_q1_3"]
    assert all("pytest.mark.target('q1')" in t for t in tests.values())
    public = public_suite(suite)  # what release ships: the hidden cases are gone
    assert "[3, 4]" in public and "[1.0, 2.0, 2.0]" not in public and "[0, -5]" not in public

    student = student_notebook(spec)  # release runs its leak check: no solution survives
    assert "np.linalg.norm(x)" not in student and "0 / 0" not in student


def test_converted_solution_scores_full_marks(converted):
    course_dir, _ = converted
    course = load_course(course_dir / "autograder.toml")
    result = grade_file(course.assignment("otter_demo").notebook, assignment="otter_demo", course=course)
    assert result.status == "ok", result.message
    assert (result.score, result.max_score) == (4, 4), [(t.name, t.output) for t in result.tests.values()]
    assert result.manual and result.manual[0]["name"] == "q2" and "0 / 0" in result.manual[0]["answer"]


def test_wrong_submission_loses_the_right_points(converted, tmp_path):
    course_dir, _ = converted
    course = load_course(course_dir / "autograder.toml")
    sub = tmp_path / "otter_demo.py"
    sub.write_text(WRONG, "utf-8")
    result = grade_file(sub, assignment="otter_demo", course=course)
    assert result.status == "ok", result.message
    status = {name: t.status for name, t in result.tests.items()}
    # [3, 4] and the unit length fail (1 + 1 point); the direction of [0, -5] is right (2 points)
    assert status == {"test_q1_1": "failed", "test_q1_2": "failed", "test_q1_3": "passed"}
    assert (result.score, result.max_score) == (2, 4)
    message = result.tests["test_q1_1"].output
    assert "Failed example:" in message and "np.allclose(normalize([3, 4]), [0.6, 0.8])" in message
    assert "Expected:\n    True\nGot:\n    False" in message


def test_invalid_master_reports_otters_error(tmp_path):
    nb = otter_master()
    del nb.cells[13]  # the "# END QUESTION" of q1
    master = tmp_path / "broken.ipynb"
    nbformat.write(nb, str(master))
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "import-otter", str(master), "--course-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert "not a valid otter-assign master notebook" in proc.stderr and "inside another question" in proc.stderr
    assert not (tmp_path / "solutions").exists()


def test_exception_based_all_or_nothing_question(tmp_path):
    """otter's other test format (test functions), and a question scored all or nothing."""
    nb = otter_master()
    nb.cells[0] = new_raw_cell("# ASSIGNMENT CONFIG\nname: exc_demo\ntests:\n  ok_format: false")
    nb.cells[3] = new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 4\nall_or_nothing: true")
    nb.cells[9] = new_code_cell("def test_known(normalize):\n    assert np.allclose(normalize([3, 4]), [0.6, 0.8]), 'wrong for [3, 4]'")
    nb.cells[10] = new_code_cell("# HIDDEN\ndef test_length(normalize, np):\n"
                                 "    assert np.isclose(np.linalg.norm(normalize([1.0, 2.0, 2.0])), 1.0)")
    nb.cells[11] = new_code_cell("def test_direction(normalize):\n    assert np.allclose(normalize([0, -5]), [0, -1])")
    master = tmp_path / "exc.ipynb"
    nbformat.write(nb, str(master))
    (tmp_path / "autograder.toml").write_text(COURSE_TOML, "utf-8")
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "--config", str(tmp_path / "autograder.toml"),
                           "import-otter", str(master), "--append"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    course = load_course(tmp_path / "autograder.toml")
    spec = course.assignment("exc_demo")
    public = public_suite(spec.suite.read_text("utf-8"))
    assert "test_known" in public and "test_length" not in public  # the hidden case is not shipped

    solution = grade_file(spec.notebook, assignment="exc_demo", course=course)
    assert (solution.score, solution.max_score) == (4, 4), [t.output for t in solution.tests.values()]
    sub = tmp_path / "exc_demo.py"
    sub.write_text(WRONG, "utf-8")
    wrong = grade_file(sub, assignment="exc_demo", course=course)
    assert (wrong.score, wrong.max_score) == (0, 4)  # one case fails: no point at all
    assert any("AssertionError: wrong for [3, 4]" in t.output for t in wrong.tests.values())


def test_otter_line_markers_become_release_blocks():
    """Each of otter's line markers, through our release: what otter's student copy would hold."""
    from grader.course.otter_import import our_markers
    from grader.course.release import strip_solution_source

    otter_cell = "\n".join([
        "np.random.seed(1) # SEED",
        "y = x * 2 # SOLUTION",
        "def area(r):",
        "    # BEGIN SOLUTION NO PROMPT",
        "    return 3.14 * r * r",
        "    # END SOLUTION",
        '    """ # BEGIN PROMPT',
        "    # compute the area here",
        "    pass",
        '    """; # END PROMPT',
        "def perimeter(r):",
        "    return 2 * 3.14 * r # SOLUTION",
        "plt.plot(y); # SOLUTION NO PROMPT",
    ])
    master = our_markers(otter_cell)
    ast.parse(master)  # the master still runs: the prompt is a string there
    student = strip_solution_source(master)
    ast.parse(student)
    assert "seed" not in student and "plt.plot" not in student and '"""' not in student
    assert "3.14 * r * r" not in student and "2 * 3.14 * r" not in student and "x * 2" not in student
    assert "    # compute the area here\n    pass" in student  # otter's prompt, now code
    assert "y = ...  # YOUR CODE HERE" in student
    assert "def perimeter(r):\n    # YOUR CODE HERE\n    ..." in student


def test_converted_suite_grades_without_otter(converted, tmp_path):
    """Gradescope's image has no otter: the converted suite must not need it."""
    course_dir, _ = converted
    sub = tmp_path / "otter_demo.py"
    sub.write_text(WRONG, "utf-8")
    script = (
        "import sys; sys.modules['otter'] = None  # any import of otter now fails\n"
        "from grader.config import load_course\nfrom grader.engine.grading import grade_file\n"
        f"course = load_course({str(course_dir / 'autograder.toml')!r})\n"
        f"r = grade_file({str(sub)!r}, assignment='otter_demo', course=course)\n"
        "print(r.status, r.score, r.max_score, 'otter' in sys.modules and sys.modules['otter'] is not None)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", "2.0", "4.0", "False"]
