"""Generated files are what their generators write, like assignments/ for `grader release --check`.

* every master notebook written by a make_notebook.py (solutions/, examples/, the test course
  in tests/course/) equals what its script builds now, byte for byte;
* the templates `grader bundle` fills are real shell and Python files: they parse, shellcheck
  (where installed) finds nothing, and a template whose marker is missing is refused.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import bundle

ROOT = Path(__file__).resolve().parents[3]
BUILDER_SCRIPTS = sorted([*ROOT.glob("solutions/*/make_notebook.py"), *ROOT.glob("examples/*/make_notebook.py")])
TEST_COURSE_SCRIPTS = sorted(ROOT.glob("tests/course/*/make_notebook.py"))


def test_the_scripts_are_found():
    names = {p.parent.name for p in BUILDER_SCRIPTS}
    assert {"01_keras_basics", "02_callback", "03_cnn", "04_convolution", "dlai_c1w2"} <= names
    assert {"demo", "demo_model"} <= {p.parent.name for p in TEST_COURSE_SCRIPTS}


@pytest.mark.parametrize("script", BUILDER_SCRIPTS, ids=lambda p: p.parent.name)
def test_master_notebook_is_what_its_script_builds(script):
    rel = script.relative_to(ROOT)
    proc = subprocess.run([sys.executable, str(rel), "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, (
        f"{rel.parent}: the committed notebook is not what {rel.name} builds; regenerate it with "
        f"`python {rel}` and commit it (then `grader release` for assignments/).\n{proc.stdout}{proc.stderr}")
    assert "is up to date" in proc.stdout


@pytest.mark.parametrize("script", TEST_COURSE_SCRIPTS, ids=lambda p: p.parent.name)
def test_test_course_notebook_is_what_its_script_writes(script, tmp_path):
    """These scripts write beside themselves: run a copy in a temporary folder."""
    rel = script.relative_to(ROOT)
    copy = tmp_path / script.name
    shutil.copy2(script, copy)
    proc = subprocess.run([sys.executable, str(copy)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    written = sorted(tmp_path.glob("*.ipynb"))
    assert written, f"{rel} wrote no notebook"
    for notebook in written:
        committed = script.parent / notebook.name
        assert committed.is_file() and committed.read_bytes() == notebook.read_bytes(), (
            f"{committed.relative_to(ROOT)} is not what {rel} writes; regenerate it with `python {rel}`")


# ---------------------------------------------------------------------- the bundle's templates
SHELL_TEMPLATES = ["setup.sh", "run_autograder"]


@pytest.mark.parametrize("name", SHELL_TEMPLATES)
def test_shell_templates_parse_and_pass_shellcheck(name):
    path = bundle.TEMPLATES / name
    subprocess.run(["bash", "-n", str(path)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    proc = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout


def test_python_template_compiles_and_its_marker_is_a_string():
    text = (bundle.TEMPLATES / "gradescope_run.py").read_text("utf-8")
    compile(text, "gradescope_run.py", "exec")
    filled = bundle.render("gradescope_run.py", {'"@assignment@"': repr("it's")})
    assert "ASSIGNMENT = \"it's\"" in filled
    compile(filled, "gradescope_run.py", "exec")


def test_render_refuses_a_marker_that_is_not_there_once():
    with pytest.raises(bundle.BundleError, match="found 0 times"):
        bundle.render("run_autograder", {"@nothing@": "x"})
    filled = bundle.render("setup.sh", {"@requirements@": "numpy", "# @prefetch@": "true"})
    assert "runtime dependencies only (numpy)" in filled and "@" not in filled.replace("$@", "")
