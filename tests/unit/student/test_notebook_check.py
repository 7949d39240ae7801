"""grader.check in a real Jupyter kernel, in a plain script, and `grader submit`.

The kernel is a real ipykernel driven by nbclient; the checks run in a real grading
process with the usual sandboxed worker. The demo assignment has a hidden check
("add: random integers"); it must never run or show up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

COURSE = Path(__file__).resolve().parents[2] / "course"
CONFIG = COURSE / "autograder.toml"
GRADER = [sys.executable, "-m", "grader.cli", "--config", str(CONFIG)]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "GRADER_CONFIG": str(CONFIG), "GRADER_OFFLINE": "1", **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_import_grader_is_cheap():
    code = ("import sys, grader; grader.check; grader.check_all; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'pytest', 'numpy', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == "[]"


def test_history_keeps_the_latest_run_of_each_graded_cell():
    from grader.student.check import history_cells

    cells = history_cells([
        "import numpy as np",
        "# GRADED: add\ndef add(a, b):\n    return a * b",
        "x = 1",
        "# GRADED: add\ndef add(a, b):\n    return a + b",
        "import numpy as np",  # a re-run: kept once, at its latest place
        "",
    ])
    assert cells == ["x = 1", "# GRADED: add\ndef add(a, b):\n    return a + b", "import numpy as np"]


def _outputs(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") in ("display_data", "execute_result")]


@pytest.fixture(scope="module")
def kernel_run(tmp_path_factory):
    """A notebook run top to bottom in a real kernel, as a student would."""
    from nbclient import NotebookClient

    tmp = tmp_path_factory.mktemp("kernel")
    saved = tmp / "feedback_work.ipynb"  # a saved notebook whose metadata names demo_feedback
    nbformat.write(new_notebook(cells=[], metadata={"grader": {"assignment": "demo_feedback"}}), str(saved))
    cells = [
        new_code_cell("import numpy as np\nimport grader"),
        new_code_cell("# GRADED: add\ndef add(a, b):\n    return a * b"),
        new_code_cell('r1 = grader.check("add")'),
        new_code_cell("# GRADED: add\ndef add(a, b):\n    return a + b"),
        new_code_cell('grader.check("add")'),
        new_code_cell("r2 = grader.check_all()\nprint('ALL', r2.score, r2.max_score, r1.passed, r1.failing)"),
        new_code_cell(f"__session__ = {str(saved)!r}\n"
                      "def flip(image):\n    return np.asarray(image)[:, ::-1]\n"
                      "r3 = grader.check('flip')\nprint('FLIP', r3.assignment, r3.passed)"),
        new_code_cell("grader.check('mean', assignment='demo')"),  # its cell was never run
    ]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    old = dict(os.environ)
    os.environ.update(_env())
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def test_check_in_a_kernel_shows_a_table_of_the_public_checks(kernel_run):
    first = _outputs(kernel_run.cells[2])
    assert len(first) == 1  # shown once, although the report is also the cell's value
    html = first[0]["data"]["text/html"]
    assert "<table" in html and "failed" in html
    assert "expected 5, found 6. Likely mistake: you multiplied" in html
    assert "FAIL" in first[0]["data"]["text/plain"]  # a text version for non-HTML frontends

    second = _outputs(kernel_run.cells[4])
    assert len(second) == 1  # last expression of the cell: still one table, not two
    html = second[0]["data"]["text/html"]
    assert "<b><code>add</code>: all passed</b>" in html  # a code span, not literal backticks
    # the score says what it counts: demo has hidden checks and an explanation question
    scope = "public checks: 1 of 1 point; hidden checks and explanation questions are graded after submission"
    assert scope in html and scope in second[0]["data"]["text/plain"]


def test_a_name_the_kernel_has_not_run_says_run_its_cell_first(kernel_run):
    shown = _outputs(kernel_run.cells[7])[0]["data"]
    message = ("`mean` is not defined in the code this kernel ran: run the cell that defines `mean` first, "
               "then check again. If you did run it, did you rename it, or delete its cell?")
    assert message in shown["text/plain"]  # above the table and in each check of `mean`
    assert shown["text/plain"].count(message) == 3
    assert "did you rename it or delete its cell?" not in shown["text/plain"]  # no file-only wording left
    assert "<code>mean</code> is not defined in the code this kernel ran" in shown["text/html"]


def test_hidden_checks_never_run_or_show(kernel_run):
    everything = json.dumps([c.get("outputs", []) for c in kernel_run.cells])
    assert "random integers" not in everything and "test_add_random" not in everything
    printed = "".join(o.get("text", "") for o in kernel_run.cells[5].outputs if o.get("output_type") == "stream")
    # check_all: every PUBLIC check of demo (1 + 2 + 1 + 1 points; the hidden 2 are not run)
    assert "ALL 1.0 5.0 False ['add: 2 + 3']" in printed
    assert "public checks: 1 of 5 points; hidden checks and explanation questions" in everything


def test_the_notebook_file_metadata_names_the_assignment(kernel_run):
    printed = "".join(o.get("text", "") for o in kernel_run.cells[6].outputs if o.get("output_type") == "stream")
    assert "FLIP demo_feedback True" in printed
    html = _outputs(kernel_run.cells[6])[0]["data"]["text/html"]
    assert "flip: mirrors an image left to right" in html


def test_check_from_a_plain_script_prints_text(tmp_path):
    script = tmp_path / "my_demo.py"
    script.write_text("import grader\n\ndef add(a, b):\n    return a - b\n\n"
                      "if __name__ == '__main__':\n    r = grader.check('add', assignment='demo')\n"
                      "    print('PASSED', r.passed)\n", "utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "[FAIL] 0/1  add: 2 + 3" in proc.stdout
    assert "add(2, 3): expected 5, found -1" in proc.stdout
    assert "PASSED False" in proc.stdout
    assert "<table" not in proc.stdout and "random integers" not in proc.stdout


def _student_notebook(path: Path, with_mean: bool) -> None:
    cells = [new_code_cell("import numpy as np\nimport grader"),
             new_code_cell("# GRADED: add\ndef add(a, b):\n    return a + b", metadata={"tags": ["graded"]}),
             new_code_cell("# GRADED: answer\nANSWER = 42", metadata={"tags": ["graded"]}),
             new_markdown_cell("<!-- ANSWER: why -->\n*Write your answer here.*", metadata={"tags": ["answer"]})]
    if with_mean:
        cells.insert(2, new_code_cell("# GRADED: mean\ndef mean(x, axis=None):\n    return np.mean(x, axis=axis)",
                                      metadata={"tags": ["graded"]}))
    nbformat.write(new_notebook(cells=cells, metadata={"grader": {"assignment": "demo"}}), str(path))


def test_submit_validates_and_packages_with_a_manifest(tmp_path):
    from grader.course.submit import verify_zip

    nb = tmp_path / "work" / "demo.ipynb"
    nb.parent.mkdir()
    _student_notebook(nb, with_mean=False)
    proc = subprocess.run([*GRADER, "submit", str(nb), "--out", str(tmp_path / "upload")],
                          capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "assignment: demo (Demo)" in out
    assert "graded names: 2 of 3 defined (add, ANSWER)" in out
    assert "`mean` is not defined anywhere" in out
    assert "public checks: 2/5 points, 2 of 4 passed" in out  # hidden checks are not run
    assert "explanation answers: 0 of 1 written (missing: why)" in out
    zip_path = tmp_path / "upload" / "demo-submission.zip"
    assert f"wrote {zip_path}" in out
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == ["demo.ipynb", "manifest.json"]
        assert zf.read("demo.ipynb") == nb.read_bytes()
    manifest = verify_zip(zip_path)
    assert manifest["graded_names"] == {"present": ["add", "ANSWER"], "missing": ["mean"]}
    assert manifest["public_checks"]["score"] == 2.0 and manifest["public_checks"]["max_score"] == 5.0

    _student_notebook(nb, with_mean=True)  # fixed: everything present, no warning
    proc = subprocess.run([*GRADER, "submit", str(nb), "--out", str(tmp_path / "upload")],
                          capture_output=True, text=True, env=_env(), timeout=120)
    assert "graded names: 3 of 3 defined" in proc.stdout and "public checks: 5/5 points" in proc.stdout
    assert verify_zip(zip_path)["graded_names"]["missing"] == []


def test_submit_refuses_an_unreadable_notebook(tmp_path):
    bad = tmp_path / "demo.ipynb"
    bad.write_text('{"cells": [', "utf-8")
    proc = subprocess.run([*GRADER, "submit", str(bad), "--out", str(tmp_path / "upload")],
                          capture_output=True, text=True, env=_env(), timeout=60)
    assert proc.returncode == 1
    assert "NOT PACKAGED" in proc.stdout and "not a valid notebook" in proc.stdout
    assert not (tmp_path / "upload").exists()


def test_a_tampered_package_fails_verification(tmp_path):
    from grader.course.submit import verify_zip, write_zip

    manifest = {"file": "demo.ipynb", "bytes": 3, "sha256": "0" * 64}
    write_zip(tmp_path / "x.zip", {"demo.ipynb": b"abc", "manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(ValueError, match="does not match its manifest"):
        verify_zip(tmp_path / "x.zip")


def test_checks_can_be_switched_off_for_whole_notebook_runs(tmp_path):
    script = tmp_path / "my_demo.py"
    script.write_text("import grader\n\ndef add(a, b):\n    return a - b\n\n"
                      "print('REPORT', grader.check('add', assignment='demo'))\n", "utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=_env(GRADER_SKIP_CHECKS="1"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "REPORT None"


def test_the_check_process_imports_once_and_forks_its_worker(tmp_path):
    """grader.check's process preloads like a warm parent and forks the worker before reading the course."""
    sub = tmp_path / "mine.py"
    sub.write_text("def add(a, b):\n    return a + b\n", "utf-8")
    out = tmp_path / "result.json"
    request = {"path": str(sub), "assignment": "demo", "config": str(CONFIG),
               "targets": ["add"], "out": str(out)}
    proc = subprocess.run([sys.executable, "-m", "grader.student.check", json.dumps(request)],
                          capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text("utf-8"))
    assert data["sandbox"]["started"] == "forked from the warm runner"
    assert data["score"] == data["max_score"] > 0


def test_grader_check_says_its_score_counts_the_public_checks_only(tmp_path):
    nb = tmp_path / "demo.ipynb"
    _student_notebook(nb, with_mean=False)
    proc = subprocess.run([*GRADER, "check", str(nb)], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 1, proc.stderr  # not every public check passes
    lines = proc.stdout.splitlines()
    assert lines[0] == "demo: demo  status ok  device cpu"  # no bare "score 2/5" to misread
    assert lines[1] == ("  public checks: 2 of 5 points; hidden checks and explanation questions "
                        "are graded after submission")
    # a saved file: the name was renamed or deleted (running a cell changes nothing on disk)
    assert "`mean` is not defined anywhere in your submission: did you rename it, or delete its cell?" in proc.stdout
    assert "run the cell" not in proc.stdout
